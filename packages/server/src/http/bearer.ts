import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyPrincipal } from '../agents/agents.js';
import type { ApiKeys } from '../apikeys/api-keys.js';
import { API_KEY_PREFIX, normalizeCredential } from '../apikeys/key-format.js';
import type { Config } from '../config/config.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Sessions } from '../sessions/sessions.js';
import { basicCredentials } from './client-credentials.js';
import { eventContext } from './context.js';
import { assertSameSiteWrite, type SessionCookie, sessionCookie } from './session-cookie.js';

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

export interface GuardDeps {
  sessions: Sessions;
  apiKeys: ApiKeys;
  issuer: string;
  cookie: SessionCookie;
  publicOrigin: string;
}

function refuse(reply: FastifyReply, issuer: string, error: GatehouseError): never {
  if (error.status === 401 || error.code === 'scope_insufficient')
    reply.header('www-authenticate', challenge(issuer, error.code));
  throw error;
}

function requireToken(request: FastifyRequest, reply: FastifyReply, issuer: string): string {
  const token = bearerToken(request);
  if (token) return token;
  reply.header('www-authenticate', challenge(issuer));
  throw new GatehouseError('token_missing');
}

async function authenticateUser(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: GuardDeps,
  token: string,
) {
  try {
    request.principal = await deps.sessions.authenticate(token, eventContext(request));
    request.actorId = request.principal.user.id;
  } catch (error) {
    if (error instanceof GatehouseError) refuse(reply, deps.issuer, error);
    throw error;
  }
}

async function authenticateKey(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: GuardDeps,
  token: string,
  scope: string,
  clientId?: string,
) {
  const verdict = await deps.apiKeys.verify(token, {
    context: () => eventContext(request),
    eventType: 'key.auth',
  });
  if (!verdict.valid) {
    refuse(
      reply,
      deps.issuer,
      new GatehouseError(verdict.code, {
        hint: verdict.hint,
        ...(verdict.detail ? { detail: verdict.detail } : {}),
      }),
    );
  }
  if (clientId && clientId !== verdict.client.id) {
    refuse(
      reply,
      deps.issuer,
      new GatehouseError('client_not_found', {
        detail: `The key belongs to client ${verdict.client.id}, not to client_id ${clientId.slice(0, 64)}`,
      }),
    );
  }
  if (!verdict.key.scopes.includes(scope)) {
    refuse(
      reply,
      deps.issuer,
      new GatehouseError('scope_insufficient', { detail: `This key lacks the "${scope}" scope` }),
    );
  }
  request.machine = { keyId: verdict.key.id, clientId: verdict.client.id, scopes: verdict.key.scopes };
  request.actorId = verdict.key.id;
}

/**
 * onRequest hook (before the body is even parsed): a live user session, by its access token — or, for browser
 * apps on the same site, by the session cookie, with CSRF checks on every write.
 */
export function requireUser(deps: GuardDeps): Guard {
  return async (request, reply) => {
    const cookie = bearerToken(request) ? undefined : deps.cookie.read(request);
    if (!cookie) return authenticateUser(request, reply, deps, requireToken(request, reply, deps.issuer));
    request.principal = await deps.sessions.authenticateCookie(cookie, eventContext(request));
    request.actorId = request.principal.user.id;
    request.cookieSession = true;
    assertSameSiteWrite(request, deps.sessions.csrfToken(request.principal.session.id), deps.publicOrigin);
  };
}

/** onRequest hook: an API key holding `scope`. */
export function requireKey(deps: GuardDeps, scope: string): Guard {
  return async (request, reply) =>
    authenticateKey(request, reply, deps, requireToken(request, reply, deps.issuer), scope);
}

/**
 * onRequest hook: a user with `role`, or an API key with scope `keyScope` (automation acts as an admin with a
 * root key; an introspecting resource server holds the `introspect` scope).
 */
export function requireUserRoleOrKey(deps: GuardDeps, role: string, keyScope: string): Guard {
  return async (request, reply) => {
    const token = requireToken(request, reply, deps.issuer);
    // Judge the kind after stripping what pasting adds (quotes, a doubled Bearer), as key checks do.
    if (normalizeCredential(token).value.startsWith(API_KEY_PREFIX)) {
      return authenticateKey(request, reply, deps, token, keyScope);
    }
    await authenticateUser(request, reply, deps, token);
    if (!request.principal?.roles.includes(role)) {
      refuse(
        reply,
        deps.issuer,
        new GatehouseError('scope_insufficient', { detail: `Needs the ${role} role` }),
      );
    }
  };
}

/**
 * The hooks of an endpoint OAuth clients call (RFC 7662 introspection): a user with `role` or a key with
 * `keyScope` as a bearer token, as `requireUserRoleOrKey`; or the key as the client's secret (RFC 6749 §2.3.1),
 * in `Authorization: Basic` (client_secret_basic, checked on request) or in the form body (client_secret_post,
 * checked once the body is parsed and before it is validated). A client_id, when sent, must be the key's.
 */
export function requireClientOrUser(
  deps: GuardDeps,
  role: string,
  keyScope: string,
): { onRequest: Guard; preValidation: Guard } {
  const userOrKey = requireUserRoleOrKey(deps, role, keyScope);
  return {
    async onRequest(request, reply) {
      if (!request.headers.authorization) return;
      const basic = basicCredentials(request.headers.authorization);
      if (!basic) return userOrKey(request, reply);
      return authenticateKey(request, reply, deps, basic.secret, keyScope, basic.id || undefined);
    },
    async preValidation(request, reply) {
      if (request.headers.authorization) return;
      const { client_id, client_secret } = (request.body ?? {}) as Record<string, unknown>;
      if (typeof client_secret !== 'string' || !client_secret) return userOrKey(request, reply);
      const clientId = typeof client_id === 'string' && client_id ? client_id : undefined;
      return authenticateKey(request, reply, deps, client_secret, keyScope, clientId);
    },
  };
}

export const requireAdmin = (deps: GuardDeps): Guard => requireUserRoleOrKey(deps, 'admin', 'admin');

export function principalOf(request: FastifyRequest) {
  if (!request.principal) throw new Error('Route reached without its user authentication guard');
  return request.principal;
}

export function machineOf(request: FastifyRequest): KeyPrincipal {
  if (!request.machine) throw new Error('Route reached without its API key guard');
  return request.machine;
}

export const guardDeps = (parts: {
  sessions: Sessions;
  apiKeys: ApiKeys;
  config: Readonly<Pick<Config, 'issuer' | 'publicUrl' | 'sessionAbsoluteTimeout'>>;
}): GuardDeps => ({
  sessions: parts.sessions,
  apiKeys: parts.apiKeys,
  issuer: parts.config.issuer,
  cookie: sessionCookie(parts.config),
  publicOrigin: new URL(parts.config.publicUrl).origin,
});
