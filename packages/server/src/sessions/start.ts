import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../clock.js';
import type { EventContext, Events } from '../events/events.js';
import { insertRefreshToken, type RefreshTokenRow } from '../store/refresh-tokens-store.js';
import type { Database } from '../store/schema.js';
import {
  insertSession,
  listActiveSessions,
  revokeSession,
  type SessionRow,
} from '../store/sessions-store.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh-token-format.js';
import type { Subject, TokenSet } from './session-types.js';
import type { SessionViewCache } from './session-view-cache.js';

export interface StartDeps {
  db: Kysely<Database>;
  clock: Clock;
  views: SessionViewCache;
  events: Events;
  accessTokens: AccessTokens;
  refreshTokenTtlSeconds: number;
  sessionAbsoluteTimeoutSeconds: number;
  maxSessionsPerUser: number;
}

export const scopeForRoles = (roles: string[]): string =>
  ['openid', 'profile', 'email', ...(roles.includes('admin') ? ['admin'] : [])].join(' ');

/** A refresh token's row: it lives as long as its setting says, and never past its session. */
export function refreshRow(
  deps: Pick<StartDeps, 'refreshTokenTtlSeconds'>,
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
    expires_at: Math.min(now + deps.refreshTokenTtlSeconds * 1000, sessionExpiresAt),
    used_at: null,
    successor_id: null,
  };
}

export async function issueTokens(
  deps: Pick<StartDeps, 'accessTokens'>,
  user: Subject,
  session: SessionRow,
  refreshToken: string,
): Promise<TokenSet> {
  const access = await deps.accessTokens.issue({
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

/** Beyond GATEHOUSE_MAX_SESSIONS_PER_USER live sessions, the oldest are revoked, each with an event. */
async function enforceSessionLimit(deps: StartDeps, userId: string, context: EventContext): Promise<void> {
  const live = await listActiveSessions(deps.db, userId, deps.clock.now());
  for (const old of live.slice(deps.maxSessionsPerUser)) {
    await revokeSession(deps.db, old.id, 'session_limit', deps.clock.now());
    deps.views.forgetSession(old.id);
    deps.events.record({
      type: 'session.revoke',
      code: 'ok',
      userId,
      sessionId: old.id,
      context,
      detail: { reason: 'session_limit', limit: deps.maxSessionsPerUser },
    });
  }
}

/** Signs a user in: a new session, its first refresh token and an access token. */
export async function startSession(
  deps: StartDeps,
  user: Subject,
  context: EventContext,
  amr: string[],
): Promise<TokenSet> {
  const now = deps.clock.now();
  const session: SessionRow = {
    id: uuidv7(),
    user_id: user.id,
    created_at: now,
    last_used_at: now,
    expires_at: now + deps.sessionAbsoluteTimeoutSeconds * 1000,
    ip: context.ip?.slice(0, 64) ?? null,
    user_agent: context.userAgent?.slice(0, 512) ?? null,
    amr: JSON.stringify(amr),
    revoked_at: null,
    revoked_reason: null,
  };
  await insertSession(deps.db, session);
  const refreshToken = newRefreshToken();
  await insertRefreshToken(deps.db, refreshRow(deps, refreshToken, session.id, now, session.expires_at));
  await enforceSessionLimit(deps, user.id, context);
  return issueTokens(deps, user, session, refreshToken);
}
