import type { Kysely } from 'kysely';
import type { CheckTrail } from '../checks/check-trail.js';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Actor, EventContext, Events } from '../events/events.js';
import type { Metrics } from '../metrics/metrics.js';
import { hmacBase64url, previewSecret, randomBase64url, sha256Hex } from '../secrets/digest.js';
import type { Database } from '../store/schema.js';
import { setSessionCookie } from '../store/sessions-store.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import {
  type AccessTokenJudgement,
  createCookieJudge,
  judgeAccessToken,
  SESSION_COOKIE_PREFIX,
  userPrincipal,
} from './authenticate.js';
import { type IntrospectionResult, introspect } from './introspect.js';
import { judgeRefreshGrant, type RefreshJudgement, refresh } from './refresh.js';
import { listSessions, revokeAllOf, revokeByToken, revokeOne } from './revoke.js';
import type { Principal, SessionView, Subject, TokenSet } from './session-types.js';
import type { SessionViewCache } from './session-view-cache.js';
import { startSession } from './start.js';

export type { IntrospectionResult } from './introspect.js';
export type { Principal, SessionView, Subject, TokenSet } from './session-types.js';
export { scopeForRoles } from './start.js';

export interface SessionsOptions {
  db: Kysely<Database>;
  views: SessionViewCache;
  events: Events;
  metrics: Pick<Metrics, 'decision' | 'cacheLookup'>;
  clock: Clock;
  accessTokens: AccessTokens;
  refreshTokenKey: Uint8Array;
  csrfKey: Uint8Array;
  refreshTokenTtlSeconds: number;
  refreshGraceSeconds: number;
  sessionIdleTimeoutSeconds: number;
  sessionAbsoluteTimeoutSeconds: number;
  maxSessionsPerUser: number;
}

/**
 * Sessions and the credentials bound to them. Each credential kind has one decision procedure (`judge…`),
 * which the request path and the doctor both run; the doctor only passes a trail that records each check.
 */
export interface Sessions {
  start(user: Subject, context: EventContext, amr?: string[]): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  /**
   * Verifies an access token and the live state of its session and user: logout takes effect at once.
   * A refusal is recorded as a `token.check` event; acceptances are not (they are every request).
   */
  authenticate(accessToken: string, context?: EventContext): Promise<Principal>;
  /** The access-token decision, recording each check on `trail`; no event, no cache filled. */
  judgeAccessToken(accessToken: string, trail?: CheckTrail): Promise<AccessTokenJudgement>;
  /** The refresh grant's decision (a reuse is refused); nothing is rotated or revoked. */
  judgeRefreshToken(refreshToken: string, trail?: CheckTrail): Promise<RefreshJudgement>;
  /** The session-cookie decision; nothing is touched. */
  judgeCookie(cookie: string, trail?: CheckTrail): Promise<Principal>;
  list(userId: string, currentSessionId?: string): Promise<SessionView[]>;
  /** Ends a session; `reason` is stored on it and named by every later refusal of its tokens. */
  revoke(userId: string, sessionId: string, reason: string, actor?: Actor): Promise<void>;
  revokeAll(userId: string, reason: string, actor?: Actor, exceptSessionId?: string): Promise<number>;
  /** RFC 7009: ends the session a token belongs to; unknown or invalid tokens are ignored. */
  revokeByToken(token: string): Promise<void>;
  introspect(token: string): Promise<IntrospectionResult>;
  /** Binds a new browser cookie to a session; answers the cookie and the session's CSRF token. */
  attachCookie(sessionId: string): Promise<{ cookie: string; csrfToken: string }>;
  /** The user and session behind a browser session cookie (the same checks as an access token's session). */
  authenticateCookie(cookie: string, context?: EventContext): Promise<Principal>;
  /** The CSRF token bound to a session: an HMAC of its id, so it needs no storage and dies with the session. */
  csrfToken(sessionId: string): string;
}

export function createSessions(deps: SessionsOptions): Sessions {
  const judgeCookie = createCookieJudge(deps);

  /** A request's refused credential becomes an event of `type`, with the credential's preview only. */
  function recordRefusal(
    type: 'token.check' | 'cookie.check',
    preview: string,
    context: EventContext | undefined,
    error: unknown,
  ): void {
    if (!(error instanceof GatehouseError)) return;
    deps.events.record({
      type,
      code: error.code,
      context,
      tokenPreview: preview,
      detail: { reason: error.internal ?? error.detail },
    });
  }

  const csrfToken = (sessionId: string) => hmacBase64url(deps.csrfKey, `csrf:${sessionId}`);

  return {
    start: (user, context, amr = ['pwd']) => startSession(deps, user, context, amr),
    refresh: (token) => refresh(deps, token),
    // Every authenticated request runs this: no closure is made for the accepted case.
    async authenticate(token, context) {
      try {
        const principal = userPrincipal(await judgeAccessToken(deps, token));
        deps.metrics.decision('token.check', 'ok');
        return principal;
      } catch (error) {
        recordRefusal('token.check', previewSecret(token, 12, 6), context, error);
        throw error;
      }
    },
    judgeAccessToken: (token, trail) => judgeAccessToken(deps, token, trail),
    judgeRefreshToken: (token, trail) => judgeRefreshGrant(deps, token, trail),
    judgeCookie,
    async authenticateCookie(cookie, context) {
      try {
        const principal = await judgeCookie(cookie);
        deps.metrics.decision('cookie.check', 'ok');
        return principal;
      } catch (error) {
        recordRefusal('cookie.check', previewSecret(cookie), context, error);
        throw error;
      }
    },
    list: (userId, currentSessionId) => listSessions(deps, userId, currentSessionId),
    revoke: (userId, sessionId, reason, actor) => revokeOne(deps, userId, sessionId, reason, actor),
    revokeAll: (userId, reason, actor, exceptSessionId) =>
      revokeAllOf(deps, userId, reason, actor, exceptSessionId),
    revokeByToken: (token) => revokeByToken(deps, token),
    introspect: (token) => introspect(deps, token),
    async attachCookie(sessionId) {
      const cookie = `${SESSION_COOKIE_PREFIX}${randomBase64url(32)}`;
      await setSessionCookie(deps.db, sessionId, sha256Hex(cookie));
      return { cookie, csrfToken: csrfToken(sessionId) };
    },
    csrfToken,
  };
}
