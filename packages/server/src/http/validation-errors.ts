import type { FastifySchemaValidationError } from 'fastify';

/** The values a `const` or `enum` failure allows, or undefined for any other failure. */
function allowedValues(error: FastifySchemaValidationError): unknown[] | undefined {
  if (error.keyword === 'const') return [error.params.allowedValue];
  if (error.keyword === 'enum') return error.params.allowedValues as unknown[];
  return undefined;
}

/**
 * Fastify's validation message, except where a value lies outside a fixed set: Ajv reports a union of literals
 * as "must be equal to constant" once per literal, then "must match a schema in anyOf", and never says which
 * values would do. There the message names them.
 */
export function describeValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const allowedAt = new Map<string, unknown[]>();
  for (const error of errors) {
    const values = allowedValues(error);
    if (values) allowedAt.set(error.instancePath, [...(allowedAt.get(error.instancePath) ?? []), ...values]);
  }
  const messages = new Set<string>();
  for (const error of errors) {
    const allowed = allowedAt.get(error.instancePath);
    messages.add(
      allowed && (allowedValues(error) || error.keyword === 'anyOf')
        ? `${dataVar}${error.instancePath} must be one of: ${allowed.join(', ')}`
        : `${dataVar}${error.instancePath} ${error.message}`,
    );
  }
  return new Error([...messages].join(', '));
}
