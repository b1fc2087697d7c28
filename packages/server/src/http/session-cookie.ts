import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { constantTimeEqual } from '../secrets/digest.js';
import type { Sessions } from '../sessions/sessions.js';
import type { User } from '../users/user-view.js';
import type { App } from './types.js';

/**
 * Parses cookies for the routes of the plugin that calls it: only routes that accept the session cookie pay
 * for reading the Cookie header (JWKS, keys and admin routes do not).
 */
export async function acceptSessionCookies(app: App): Promise<void> {
  await app.register(cookie);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The browser session cookie, its attributes derived from the public URL: on https it is `__Host-` prefixed
 * and `Secure` (so no subdomain can set or read it); always HttpOnly, SameSite=Lax, Path=/.
 */
export function sessionCookie(config: Readonly<Pick<Config, 'publicUrl' | 'sessionAbsoluteTimeout'>>) {
  const secure = new URL(config.publicUrl).protocol === 'https:';
  const name = secure ? '__Host-gatehouse_session' : 'gatehouse_session';
  const attributes = { httpOnly: true, secure, sameSite: 'lax' as const, path: '/' };
  return {
    name,
    read: (request: FastifyRequest): string | undefined => request.cookies?.[name] || undefined,
    set: (reply: FastifyReply, value: string) =>
      reply.setCookie(name, value, { ...attributes, maxAge: config.sessionAbsoluteTimeout }),
    clear: (reply: FastifyReply) => reply.clearCookie(name, attributes),
  };
}

export type SessionCookie = ReturnType<typeof sessionCookie>;

/** The registry's `csrf_invalid` hint is about the token; a request from another site needs another origin. */
const foreignOriginHint = (publicOrigin: string) =>
  `Cookie-authenticated writes are accepted only from pages of ${publicOrigin}: send the request from there, or set GATEHOUSE_PUBLIC_URL to the origin your pages are served from.`;

/**
 * CSRF defence for cookie-authenticated state changes (OWASP): the request must come from our own site
 * (`Sec-Fetch-Site`, `Origin`) and carry the session's CSRF token in `x-csrf-token`. GETs change nothing.
 */
export function assertSameSiteWrite(
  request: FastifyRequest,
  expectedToken: string,
  publicOrigin: string,
): void {
  if (SAFE_METHODS.has(request.method)) return;
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site') {
    throw new GatehouseError('csrf_invalid', {
      detail: 'A cross-site request (Sec-Fetch-Site: cross-site) cannot use the session cookie',
      hint: foreignOriginHint(publicOrigin),
    });
  }
  const origin = request.headers.origin;
  if (origin && origin !== publicOrigin) {
    throw new GatehouseError('csrf_invalid', {
      detail: `Origin ${origin.slice(0, 100)} is not ${publicOrigin}`,
      hint: foreignOriginHint(publicOrigin),
    });
  }
  const token = request.headers['x-csrf-token'];
  if (typeof token !== 'string' || !token) {
    throw new GatehouseError('csrf_missing', {
      detail: 'A cookie-authenticated write needs the x-csrf-token header',
    });
  }
  if (!constantTimeEqual(token, expectedToken)) {
    throw new GatehouseError('csrf_invalid', { detail: 'The x-csrf-token does not belong to this session' });
  }
}

/** What a cookie-mode sign-in answers instead of tokens: the user and the session's CSRF token. */
export async function signInWithCookie(
  reply: FastifyReply,
  cookie: SessionCookie,
  sessions: Pick<Sessions, 'attachCookie'>,
  signedIn: { user: User; session_id: string },
): Promise<{ user: User; csrf_token: string }> {
  const attached = await sessions.attachCookie(signedIn.session_id);
  cookie.set(reply, attached.cookie);
  return { user: signedIn.user, csrf_token: attached.csrfToken };
}
