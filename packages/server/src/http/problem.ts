import { type Code, reasonCodes } from '@gatehouse/codes';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/gatehouse-error.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: Code;
  hint: string;
  action: string;
  request_id: string;
}

const FASTIFY_CODES: Record<string, Code> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_VALIDATION: 'validation_failed',
};

/** Turns any error into a GatehouseError: client mistakes keep a 4xx code, anything else is an internal error. */
export function toGatehouseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new GatehouseError(mapped, { detail: fastifyError.message });
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new GatehouseError('validation_failed', { detail: fastifyError.message });
  }
  return new GatehouseError('internal_error', { cause: error });
}

export function problemBody(error: GatehouseError, requestId: string): Problem {
  const entry = reasonCodes[error.publicCode];
  const detail = error.publicCode === error.code ? error.detail : undefined;
  return {
    type: `urn:gatehouse:problem:${error.publicCode}`,
    title: entry.title,
    status: entry.status,
    ...(detail ? { detail } : {}),
    code: error.publicCode,
    hint: error.hint,
    action: entry.action,
    request_id: requestId,
  };
}

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  error: GatehouseError,
): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.status(error.status).type('application/problem+json').send(problemBody(error, request.id));
}
