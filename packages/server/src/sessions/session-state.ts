import { reasonCodes } from '@gatehouse/codes';
import type { Kysely } from 'kysely';
import type { CheckTrail } from '../checks/check-trail.js';
import { humanDuration } from '../checks/human-duration.js';
import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Database } from '../store/schema.js';
import { findSessionAndUser, type SessionRow } from '../store/sessions-store.js';
import type { UserRow } from '../users/user-view.js';
import { toUser, type User } from '../users/user-view.js';
import type { CachedSession, SessionViewCache } from './session-view-cache.js';

/** A session that passed every check, with its live user. */
export interface LiveSession {
  session: SessionRow;
  user: UserRow;
  view: User;
}

export interface SessionStateDeps {
  db: Kysely<Database>;
  views: SessionViewCache;
  metrics: Pick<Metrics, 'cacheLookup'>;
  sessionIdleTimeoutSeconds: number;
}

/**
 * The session and user behind a credential. A request reads through the view cache (every change is
 * announced and forgets the entry); `fresh` reads the database. A diagnosis (a trail) reads the database
 * and fills no cache, so asking the doctor changes nothing the next request sees.
 */
export async function loadSession(
  deps: SessionStateDeps,
  sessionId: string,
  read: { fresh: boolean; trail?: CheckTrail | undefined },
): Promise<CachedSession> {
  const useCache = !read.fresh && !read.trail;
  const cached = useCache ? deps.views.get(sessionId) : undefined;
  if (useCache) deps.metrics.cacheLookup('session', cached !== undefined);
  if (cached) return cached;
  const row = await findSessionAndUser(deps.db, sessionId);
  if (!row) {
    const detail = `Session ${sessionId} does not exist in this database: its user was deleted, or the database was replaced or restored from an older backup`;
    read.trail?.fail('session', detail);
    throw new GatehouseError('subject_not_found', { detail });
  }
  const found = { ...row, view: row.user && toUser(row.user) };
  if (!read.trail) deps.views.set(sessionId, found);
  return found;
}

/** A refusal of the session rule: the failed check goes on the trail, the reason is thrown. */
function refuse(
  trail: CheckTrail | undefined,
  check: string,
  code: 'session_expired' | 'subject_not_found' | 'user_disabled',
  detail: string,
): never {
  trail?.fail(check, detail);
  throw new GatehouseError(code, { detail });
}

/**
 * The session rule every credential bound to a session obeys (access token, refresh token, cookie), in
 * order: revoked, past its absolute timeout, idle too long, its user gone, the credential naming another
 * user, the user disabled. The first that fails names the reason.
 */
export function decideSession(
  deps: Pick<SessionStateDeps, 'sessionIdleTimeoutSeconds'>,
  found: CachedSession,
  now: number,
  trail: CheckTrail | undefined,
  expectedUserId?: string,
): LiveSession {
  const { session, user, view } = found;
  if (session.revoked_at !== null) {
    const reason = session.revoked_reason ?? 'no reason recorded';
    const detail = `Revoked at ${toIso(session.revoked_at)} (${reason})`;
    trail?.fail('session', detail);
    throw new GatehouseError('session_revoked', {
      detail,
      hint: `${reasonCodes.session_revoked.hint} (reason: ${reason})`,
    });
  }
  if (session.expires_at <= now) {
    refuse(
      trail,
      'session',
      'session_expired',
      `Session ${session.id} reached its absolute timeout at ${toIso(session.expires_at)}`,
    );
  }
  const idleMs = deps.sessionIdleTimeoutSeconds * 1000;
  if (session.last_used_at + idleMs <= now) {
    refuse(
      trail,
      'session',
      'session_expired',
      `Session ${session.id} idle since ${toIso(session.last_used_at)}: past the ${humanDuration(idleMs)} idle timeout`,
    );
  }
  trail?.pass(
    'session',
    `Session ${session.id}: active since ${toIso(session.created_at)}, last used ${toIso(session.last_used_at)}`,
  );
  if (!user || !view)
    return refuse(
      trail,
      'subject',
      'subject_not_found',
      `User ${session.user_id} of session ${session.id} no longer exists`,
    );
  if (expectedUserId !== undefined && user.id !== expectedUserId) {
    // Whose session it is stays out of the answer: only the trail (an administrator's diagnosis) names them.
    const internal = `The token names user ${String(expectedUserId).slice(0, 64)}, but session ${session.id} belongs to user ${user.id}`;
    trail?.fail('subject', internal);
    throw new GatehouseError('subject_not_found', {
      detail: 'The token and its session name different users',
      internal,
    });
  }
  trail?.pass('subject', `User ${user.email} (${user.id})`);
  if (user.disabled_at !== null)
    refuse(trail, 'account', 'user_disabled', `Disabled at ${toIso(user.disabled_at)}`);
  trail?.pass('account', 'Enabled');
  return { session, user, view };
}
