import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, INTERNAL_ACTOR } from '../events/events.js';
import { findRefreshTokenByHash } from '../store/refresh-tokens-store.js';
import {
  findSessionAndUser,
  listActiveSessions,
  revokeSession,
  revokeUserSessions,
} from '../store/sessions-store.js';
import { hashRefreshToken, isRefreshTokenShaped } from '../tokens/refresh-token-format.js';
import type { SessionView } from './session-types.js';
import type { StartDeps } from './start.js';

export async function listSessions(
  deps: StartDeps,
  userId: string,
  currentSessionId?: string,
): Promise<SessionView[]> {
  const rows = await listActiveSessions(deps.db, userId, deps.clock.now());
  return rows.map((s) => ({
    id: s.id,
    created_at: toIso(s.created_at),
    last_used_at: toIso(s.last_used_at),
    expires_at: toIso(s.expires_at),
    ip: s.ip,
    user_agent: s.user_agent,
    current: s.id === currentSessionId,
  }));
}

export async function revokeOne(
  deps: StartDeps,
  userId: string,
  sessionId: string,
  reason: string,
  actor: Actor = INTERNAL_ACTOR,
): Promise<void> {
  const found = await findSessionAndUser(deps.db, sessionId);
  if (!found || found.session.user_id !== userId) {
    throw new GatehouseError('session_not_found', { detail: `No session ${sessionId} for this user` });
  }
  await revokeSession(deps.db, sessionId, reason, deps.clock.now());
  deps.views.forgetSession(sessionId);
  deps.events.audit('session.revoke', actor, { userId, sessionId, detail: { reason } });
}

export async function revokeAllOf(
  deps: StartDeps,
  userId: string,
  reason: string,
  actor: Actor = INTERNAL_ACTOR,
  exceptSessionId?: string,
): Promise<number> {
  const count = await revokeUserSessions(deps.db, userId, reason, deps.clock.now(), exceptSessionId);
  deps.views.forgetUser(userId);
  deps.events.audit('session.revoke_all', actor, { userId, detail: { reason, count } });
  return count;
}

/** RFC 7009: ends the session a token belongs to; unknown or invalid tokens are ignored (§2.2). */
export async function revokeByToken(deps: StartDeps, token: string): Promise<void> {
  const sessionId = isRefreshTokenShaped(token)
    ? (await findRefreshTokenByHash(deps.db, hashRefreshToken(token)))?.session_id
    : await deps.accessTokens.verify(token).then(
        (claims) => claims.sid,
        (error: unknown) => {
          if (error instanceof GatehouseError) return undefined;
          throw error;
        },
      );
  if (!sessionId) return;
  await revokeSession(deps.db, sessionId, 'token_revoked', deps.clock.now());
  deps.views.forgetSession(sessionId);
}
