import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Sessions } from '../sessions/sessions.js';

/** The token of an `Authorization: Bearer …` header, or undefined when there is none. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^\s*bearer\s+(.*)$/is.exec(header);
  return match?.[1]?.trim() || undefined;
}

/** RFC 6750 §3: no error attribute when no credential was sent; otherwise the reason code as description. */
export function challenge(issuer: string, code?: string): string {
  const realm = `Bearer realm="${issuer}"`;
  if (!code) return realm;
  const error = code === 'scope_insufficient' ? 'insufficient_scope' : 'invalid_token';
  return `${realm}, error="${error}", error_description="${code}"`;
}

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** onRequest hook (before the body is even parsed): the request must carry a live user session's access token. */
export function requireUser(sessions: Sessions, issuer: string): Guard {
  return async (request, reply) => {
    const token = bearerToken(request);
    if (!token) {
      reply.header('www-authenticate', challenge(issuer));
      throw new GatehouseError('token_missing');
    }
    try {
      request.principal = await sessions.authenticate(token);
    } catch (error) {
      if (error instanceof GatehouseError && error.status === 401) {
        reply.header('www-authenticate', challenge(issuer, error.code));
      }
      throw error;
    }
  };
}

/** onRequest hook: as requireUser, and the user holds the admin role. */
export function requireAdmin(sessions: Sessions, issuer: string): Guard {
  const user = requireUser(sessions, issuer);
  return async (request, reply) => {
    await user(request, reply);
    if (!request.principal?.roles.includes('admin')) {
      reply.header('www-authenticate', challenge(issuer, 'scope_insufficient'));
      throw new GatehouseError('scope_insufficient', { detail: 'Needs the admin role' });
    }
  };
}

export function principalOf(request: FastifyRequest) {
  if (!request.principal) throw new Error('Route reached without its authentication guard');
  return request.principal;
}
