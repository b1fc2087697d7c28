import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { SessionRow } from '../store/sessions-store.js';
import type { UserRow } from '../store/users-store.js';
import type { User } from '../users/user-view.js';

export interface CachedSession {
  session: SessionRow;
  user: UserRow | undefined;
  /** The user as the API shows it, built once per load rather than once per request. */
  view: User | undefined;
}

/**
 * What an authenticated request needs to know about its session and user, kept for a short time so the
 * hot path does not read the database on every request. This instance forgets an entry the moment it
 * changes one (logout, revoke, disable, role change, delete); a change made by another instance is seen
 * within `ttlSeconds`.
 */
export interface SessionViewCache {
  get(sessionId: string): CachedSession | undefined;
  set(sessionId: string, view: CachedSession): void;
  forgetSession(sessionId: string): void;
  forgetUser(userId: string): void;
}

export function createSessionViewCache(clock: Clock, ttlSeconds: number, max = 50_000): SessionViewCache {
  const views = new LRUCache<string, CachedSession>({
    max,
    ttl: ttlSeconds * 1000,
    ttlAutopurge: false,
    perf: { now: () => clock.now() },
  });
  return {
    get: (sessionId) => (ttlSeconds > 0 ? views.get(sessionId) : undefined),
    set: (sessionId, view) => {
      if (ttlSeconds > 0) views.set(sessionId, view);
    },
    forgetSession: (sessionId) => {
      views.delete(sessionId);
    },
    forgetUser: (userId) => {
      for (const [sessionId, view] of views.entries()) {
        if (view.session.user_id === userId) views.delete(sessionId);
      }
    },
  };
}
