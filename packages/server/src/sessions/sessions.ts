import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, type EventContext, type Events, INTERNAL_ACTOR } from '../events/events.js';
import type { Metrics } from '../metrics/metrics.js';
import { hmacBase64url, previewSecret, randomBase64url, sha256Hex } from '../secrets/digest.js';
import {
  claimRefreshRotation,
  findRefreshTokenByHash,
  insertRefreshToken,
  type RefreshTokenRow,
} from '../store/refresh-tokens-store.js';
import type { Database } from '../store/schema.js';
import {
  findSessionAndUser,
  findSessionIdByCookie,
  insertSession,
  listActiveSessions,
  revokeSession,
  revokeUserSessions,
  type SessionRow,
  setSessionCookie,
  touchSession,
} from '../store/sessions-store.js';
import type { UserRow } from '../store/users-store.js';
import type { AccessClaims, AccessTokens } from '../tokens/access-tokens.js';
import {
  hashRefreshToken,
  isRefreshTokenShaped,
  newRefreshToken,
  successorRefreshToken,
} from '../tokens/refresh-token-format.js';
import { parseRoles, toUser, type User } from '../users/user-view.js';
import type { SessionViewCache } from './session-view-cache.js';

/** Who a session is for: the user's id and the roles that shape the token's scope. */
export interface Subject {
  id: string;
  roles: string[];
}

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  session_id: string;
}

export interface Principal {
  user: User;
  roles: string[];
  session: SessionRow;
  /** The access token's claims; absent when the request was authenticated by a session cookie. */
  claims?: AccessClaims;
}

export interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

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

export type IntrospectionResult =
  | {
      active: true;
      token_type: 'access_token' | 'refresh_token';
      sub: string;
      sid: string;
      scope: string;
      exp: number;
      iat: number;
      iss?: string;
      client_id?: string;
    }
  | { active: false; code: string };

export interface Sessions {
  start(user: Subject, context: EventContext, amr?: string[]): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  /**
   * Verifies an access token and the live state of its session and user: logout takes effect at once.
   * A refusal is recorded as a `token.check` event; acceptances are not (they are every request).
   */
  authenticate(accessToken: string, context?: EventContext): Promise<Principal>;
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

const SESSION_COOKIE_PREFIX = 'gcs_';
const SESSION_COOKIE_SHAPE = /^gcs_[A-Za-z0-9_-]{43}$/;
const IDLE_TOUCH_INTERVAL_MS = 60_000;

export const scopeForRoles = (roles: string[]): string =>
  ['openid', 'profile', 'email', ...(roles.includes('admin') ? ['admin'] : [])].join(' ');

export function createSessions(options: SessionsOptions): Sessions {
  const { db, clock, accessTokens, refreshTokenKey, views } = options;
  /** Cookie hash → session id: the binding never changes, so it is cached without expiry (bounded). */
  const cookieSessions = new LRUCache<string, string>({ max: 50_000 });

  /** The checks every use of a session makes, in order; the first that fails names the reason. */
  function assertUsable(session: SessionRow, user: UserRow | undefined, now: number): UserRow {
    if (session.revoked_at !== null) {
      throw new GatehouseError('session_revoked', {
        detail: `Session ${session.id} was revoked at ${toIso(session.revoked_at)} (${session.revoked_reason ?? 'unknown reason'})`,
      });
    }
    if (session.expires_at <= now) {
      throw new GatehouseError('session_expired', {
        detail: `Absolute timeout reached at ${toIso(session.expires_at)}`,
      });
    }
    if (session.last_used_at + options.sessionIdleTimeoutSeconds * 1000 <= now) {
      throw new GatehouseError('session_expired', { detail: `Idle since ${toIso(session.last_used_at)}` });
    }
    if (!user)
      throw new GatehouseError('subject_not_found', { detail: `User ${session.user_id} no longer exists` });
    if (user.disabled_at !== null) throw new GatehouseError('user_disabled');
    return user;
  }

  async function loadSession(sessionId: string, subject: string, { fresh }: { fresh: boolean }) {
    const cached = fresh ? undefined : views.get(sessionId);
    if (!fresh) options.metrics.cacheLookup('session', cached !== undefined);
    if (cached) return cached;
    const row = await findSessionAndUser(db, sessionId);
    const found = row && { ...row, view: row.user && toUser(row.user) };
    if (found) views.set(sessionId, found);
    if (!found) {
      throw new GatehouseError('subject_not_found', {
        detail: `Session ${sessionId} of user ${subject} does not exist: the user was deleted or the database was replaced`,
      });
    }
    return found;
  }

  async function issueTokens(user: Subject, session: SessionRow, refreshToken: string): Promise<TokenSet> {
    const access = await accessTokens.issue({
      sub: user.id,
      sid: session.id,
      scope: scopeForRoles(user.roles),
      amr: JSON.parse(session.amr) as string[],
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      session_id: session.id,
    };
  }

  function refreshRow(
    token: string,
    sessionId: string,
    now: number,
    sessionExpiresAt: number,
  ): RefreshTokenRow {
    return {
      id: uuidv7(),
      session_id: sessionId,
      token_hash: hashRefreshToken(token),
      created_at: now,
      expires_at: Math.min(now + options.refreshTokenTtlSeconds * 1000, sessionExpiresAt),
      used_at: null,
      successor_id: null,
    };
  }

  /** Beyond GATEHOUSE_MAX_SESSIONS_PER_USER live sessions, the oldest are revoked, each with an event. */
  async function enforceSessionLimit(userId: string, context: EventContext): Promise<void> {
    const live = await listActiveSessions(db, userId, clock.now());
    for (const old of live.slice(options.maxSessionsPerUser)) {
      await revokeSession(db, old.id, 'session_limit', clock.now());
      views.forgetSession(old.id);
      options.events.record({
        type: 'session.revoke',
        code: 'ok',
        userId,
        sessionId: old.id,
        context,
        detail: { reason: 'session_limit', limit: options.maxSessionsPerUser },
      });
    }
  }

  async function findRefreshToken(token: string): Promise<RefreshTokenRow> {
    const row = isRefreshTokenShaped(token)
      ? await findRefreshTokenByHash(db, hashRefreshToken(token))
      : undefined;
    if (!row) {
      throw new GatehouseError('refresh_token_not_found', {
        detail: isRefreshTokenShaped(token)
          ? 'No refresh token with this value was issued here'
          : 'Not a Gatehouse refresh token (grt_…)',
      });
    }
    return row;
  }

  async function authenticateToken(accessToken: string): Promise<Principal & { claims: AccessClaims }> {
    const claims = await accessTokens.verify(accessToken);
    if (!claims.sid) {
      throw new GatehouseError('scope_insufficient', {
        detail: 'This endpoint needs a user session token, not a client token',
      });
    }
    const { session, user, view } = await loadSession(claims.sid, claims.sub, { fresh: false });
    const row = assertUsable(session, user, clock.now());
    if (row.id !== claims.sub || !view) {
      throw new GatehouseError('subject_not_found', { detail: 'The session belongs to another user' });
    }
    return { user: view, roles: view.roles, session, claims };
  }

  async function authenticateCookieSession(cookie: string): Promise<Principal> {
    if (!SESSION_COOKIE_SHAPE.test(cookie)) {
      throw new GatehouseError('session_revoked', {
        detail: 'The session cookie is not one Gatehouse issued',
      });
    }
    const cookieHash = sha256Hex(cookie);
    let sessionId = cookieSessions.get(cookieHash);
    if (!sessionId) {
      sessionId = await findSessionIdByCookie(db, cookieHash);
      if (!sessionId)
        throw new GatehouseError('session_revoked', { detail: 'No session has this cookie (signed out?)' });
      cookieSessions.set(cookieHash, sessionId);
    }
    const { session, user, view } = await loadSession(sessionId, 'unknown', { fresh: false });
    const now = clock.now();
    const row = assertUsable(session, user, now);
    if (!view || row.id !== session.user_id) throw new GatehouseError('subject_not_found');
    // A cookie session has no refresh to mark it used: record use for the idle timeout, at most once a minute.
    if (now - session.last_used_at > IDLE_TOUCH_INTERVAL_MS) {
      await touchSession(db, session.id, now);
      views.forgetSession(session.id);
    }
    return { user: view, roles: view.roles, session };
  }

  const csrfToken = (sessionId: string) => hmacBase64url(options.csrfKey, `csrf:${sessionId}`);

  return {
    async attachCookie(sessionId) {
      const cookie = `${SESSION_COOKIE_PREFIX}${randomBase64url(32)}`;
      await setSessionCookie(db, sessionId, sha256Hex(cookie));
      return { cookie, csrfToken: csrfToken(sessionId) };
    },

    async authenticateCookie(cookie, context) {
      try {
        const principal = await authenticateCookieSession(cookie);
        options.metrics.decision('cookie.check', 'ok');
        return principal;
      } catch (error) {
        if (error instanceof GatehouseError) {
          options.events.record({
            type: 'cookie.check',
            code: error.code,
            context,
            tokenPreview: previewSecret(cookie),
            detail: { reason: error.internal ?? error.detail },
          });
        }
        throw error;
      }
    },

    csrfToken,

    async start(user, context, amr = ['pwd']) {
      const now = clock.now();
      const session: SessionRow = {
        id: uuidv7(),
        user_id: user.id,
        created_at: now,
        last_used_at: now,
        expires_at: now + options.sessionAbsoluteTimeoutSeconds * 1000,
        ip: context.ip?.slice(0, 64) ?? null,
        user_agent: context.userAgent?.slice(0, 512) ?? null,
        amr: JSON.stringify(amr),
        revoked_at: null,
        revoked_reason: null,
      };
      await insertSession(db, session);
      const refreshToken = newRefreshToken();
      await insertRefreshToken(db, refreshRow(refreshToken, session.id, now, session.expires_at));
      await enforceSessionLimit(user.id, context);
      return issueTokens(user, session, refreshToken);
    },

    async refresh(refreshToken) {
      let row = await findRefreshToken(refreshToken);
      const { session, user } = await loadSession(row.session_id, 'unknown', { fresh: true });
      const now = clock.now();
      const live = assertUsable(session, user, now);
      const liveUser = { id: live.id, roles: parseRoles(live.roles) };
      if (row.expires_at <= now) {
        throw new GatehouseError('refresh_token_expired', { detail: `Expired at ${toIso(row.expires_at)}` });
      }
      const successor = successorRefreshToken(refreshTokenKey, refreshToken);
      if (row.used_at === null) {
        const claim = await claimRefreshRotation(
          db,
          row.id,
          now,
          refreshRow(successor, session.id, now, session.expires_at),
        );
        if (claim.claimed) return issueTokens(liveUser, session, successor);
        row = claim.current;
      }
      const usedAt = row.used_at ?? now;
      if (now - usedAt <= options.refreshGraceSeconds * 1000)
        return issueTokens(liveUser, session, successor);
      await revokeSession(db, session.id, 'refresh_token_reused', now);
      views.forgetSession(session.id);
      throw new GatehouseError('refresh_token_reused', {
        detail: `This refresh token was rotated at ${toIso(usedAt)} and replayed at ${toIso(now)}; session ${session.id} is revoked`,
      });
    },

    async authenticate(accessToken, context) {
      try {
        const principal = await authenticateToken(accessToken);
        options.metrics.decision('token.check', 'ok');
        return principal;
      } catch (error) {
        if (error instanceof GatehouseError) {
          options.events.record({
            type: 'token.check',
            code: error.code,
            context,
            tokenPreview: previewSecret(accessToken, 12, 6),
            detail: { reason: error.internal ?? error.detail },
          });
        }
        throw error;
      }
    },

    async list(userId, currentSessionId) {
      const rows = await listActiveSessions(db, userId, clock.now());
      return rows.map((s) => ({
        id: s.id,
        created_at: toIso(s.created_at),
        last_used_at: toIso(s.last_used_at),
        expires_at: toIso(s.expires_at),
        ip: s.ip,
        user_agent: s.user_agent,
        current: s.id === currentSessionId,
      }));
    },

    async revoke(userId, sessionId, reason, actor = INTERNAL_ACTOR) {
      const found = await findSessionAndUser(db, sessionId);
      if (!found || found.session.user_id !== userId) {
        throw new GatehouseError('session_not_found', { detail: `No session ${sessionId} for this user` });
      }
      await revokeSession(db, sessionId, reason, clock.now());
      views.forgetSession(sessionId);
      options.events.audit('session.revoke', actor, { userId, sessionId, detail: { reason } });
    },

    async revokeAll(userId, reason, actor = INTERNAL_ACTOR, exceptSessionId) {
      const count = await revokeUserSessions(db, userId, reason, clock.now(), exceptSessionId);
      views.forgetUser(userId);
      options.events.audit('session.revoke_all', actor, { userId, detail: { reason, count } });
      return count;
    },

    async revokeByToken(token) {
      const sessionId = isRefreshTokenShaped(token)
        ? (await findRefreshTokenByHash(db, hashRefreshToken(token)))?.session_id
        : await accessTokens.verify(token).then(
            (claims) => claims.sid,
            (error: unknown) => {
              if (error instanceof GatehouseError) return undefined;
              throw error;
            },
          );
      if (!sessionId) return;
      await revokeSession(db, sessionId, 'token_revoked', clock.now());
      views.forgetSession(sessionId);
    },

    async introspect(token) {
      try {
        if (isRefreshTokenShaped(token)) {
          const row = await findRefreshToken(token);
          const { session, user } = await loadSession(row.session_id, 'unknown', { fresh: true });
          const now = clock.now();
          const live = assertUsable(session, user, now);
          if (row.expires_at <= now) throw new GatehouseError('refresh_token_expired');
          if (row.used_at !== null && now - row.used_at > options.refreshGraceSeconds * 1000) {
            throw new GatehouseError('refresh_token_reused');
          }
          return {
            active: true,
            token_type: 'refresh_token',
            sub: live.id,
            sid: session.id,
            scope: scopeForRoles(parseRoles(live.roles)),
            exp: Math.floor(row.expires_at / 1000),
            iat: Math.floor(row.created_at / 1000),
          };
        }
        const principal = await authenticateToken(token);
        const { claims } = principal;
        return {
          active: true,
          token_type: 'access_token',
          sub: claims.sub,
          sid: principal.session.id,
          scope: claims.scope,
          exp: claims.exp,
          iat: claims.iat,
          ...(claims.iss ? { iss: claims.iss } : {}),
          ...(claims.client_id ? { client_id: claims.client_id } : {}),
        };
      } catch (error) {
        if (error instanceof GatehouseError && error.status < 500) return { active: false, code: error.code };
        throw error;
      }
    },
  };
}
