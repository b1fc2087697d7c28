import { LRUCache } from 'lru-cache';
import type { CheckTrail } from '../checks/check-trail.js';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { sha256Hex } from '../secrets/digest.js';
import { findSessionIdByCookie, touchSession } from '../store/sessions-store.js';
import type { AccessClaims, AccessTokens } from '../tokens/access-tokens.js';
import { decideSession, loadSession, type SessionStateDeps } from './session-state.js';
import type { Principal } from './session-types.js';

export interface AuthenticateDeps extends SessionStateDeps {
  clock: Clock;
  accessTokens: AccessTokens;
}

/** An access token judged: its claims, and the live principal when it is bound to a user session. */
export interface AccessTokenJudgement {
  claims: AccessClaims;
  /** Absent for a machine token (client credentials): it names a client, not a session. */
  principal?: Principal & { claims: AccessClaims };
}

export const SESSION_COOKIE_PREFIX = 'gcs_';
const SESSION_COOKIE_SHAPE = /^gcs_[A-Za-z0-9_-]{43}$/;
const IDLE_TOUCH_INTERVAL_MS = 60_000;

/**
 * The access-token decision for every place that takes one (user routes, introspection, the doctor): the
 * token's own checks, then the session rule for the session it names.
 */
export async function judgeAccessToken(
  deps: AuthenticateDeps,
  token: string,
  trail?: CheckTrail,
): Promise<AccessTokenJudgement> {
  const claims = await deps.accessTokens.verify(token, trail);
  if (!claims.sid) {
    // A machine token (client credentials) names its client instead of a session; a token naming neither
    // was not issued by this server's rules.
    if (!claims.client_id) {
      const detail = 'The token names neither a session (sid) nor a client (client_id)';
      trail?.fail('session', detail);
      throw new GatehouseError('token_malformed', { detail });
    }
    trail?.skip(
      'session',
      `A machine token of client ${String(claims.client_id)}: it names no session (user endpoints answer scope_insufficient)`,
    );
    return { claims };
  }
  const found = await loadSession(deps, claims.sid, { fresh: false, trail });
  const live = decideSession(deps, found, deps.clock.now(), trail, claims.sub);
  return { claims, principal: { user: live.view, roles: live.view.roles, session: live.session, claims } };
}

/** A user route's view of an access token: a machine token names no user, so it lacks the scope. */
export function userPrincipal(judgement: AccessTokenJudgement): Principal & { claims: AccessClaims } {
  if (judgement.principal) return judgement.principal;
  throw new GatehouseError('scope_insufficient', {
    detail: 'This endpoint needs a user session token, not a client token',
  });
}

/** The session-cookie decision: the cookie's form, the session it is bound to, then the session rule. */
export function createCookieJudge(deps: AuthenticateDeps) {
  /** Cookie hash → session id: the binding never changes, so it is cached without expiry (bounded). */
  const cookieSessions = new LRUCache<string, string>({ max: 50_000 });

  async function sessionIdOf(cookie: string, trail: CheckTrail | undefined): Promise<string> {
    const refuse = (detail: string): never => {
      trail?.fail('cookie', detail);
      throw new GatehouseError('session_revoked', { detail });
    };
    if (!SESSION_COOKIE_SHAPE.test(cookie)) refuse('The session cookie is not one Gatehouse issued');
    const cookieHash = sha256Hex(cookie);
    const cached = trail ? undefined : cookieSessions.get(cookieHash);
    const sessionId = cached ?? (await findSessionIdByCookie(deps.db, cookieHash));
    if (!sessionId) return refuse('No session has this cookie (signed out?)');
    if (!trail) cookieSessions.set(cookieHash, sessionId);
    trail?.pass('cookie', `Bound to session ${sessionId}`);
    return sessionId;
  }

  return async function judgeCookie(cookie: string, trail?: CheckTrail): Promise<Principal> {
    const sessionId = await sessionIdOf(cookie, trail);
    const found = await loadSession(deps, sessionId, { fresh: false, trail });
    const now = deps.clock.now();
    const { session, view } = decideSession(deps, found, now, trail);
    // A cookie session has no refresh to mark it used: record use for the idle timeout, at most once a minute.
    if (!trail && now - session.last_used_at > IDLE_TOUCH_INTERVAL_MS) {
      await touchSession(deps.db, session.id, now);
      deps.views.forgetSession(session.id);
    }
    return { user: view, roles: view.roles, session };
  };
}
