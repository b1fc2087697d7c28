import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { ChangeFeed } from '../fleet/change-feed.js';
import type { SessionRow } from '../store/sessions-store.js';
import type { User, UserRow } from '../users/user-view.js';

export interface CachedSession {
  session: SessionRow;
  user: UserRow | undefined;
  /** The user as the API shows it, built once per load rather than once per request. */
  view: User | undefined;
}

/**
 * What an authenticated request needs to know about its session and user, kept so the hot path does not
 * read the database on every request. A change (logout, revoke, disable, role change, delete) is announced
 * on the change feed: this instance forgets the entry at once, the others when the feed reaches them.
 * `ttlSeconds` bounds how long an entry is trusted even if a change were missed.
 */
export interface SessionViewCache {
  get(sessionId: string): CachedSession | undefined;
  set(sessionId: string, view: CachedSession): void;
  forgetSession(sessionId: string): void;
  forgetUser(userId: string): void;
}

export function createSessionViewCache(
  clock: Clock,
  ttlSeconds: number,
  feed: ChangeFeed,
  max = 50_000,
): SessionViewCache {
  const views = new LRUCache<string, CachedSession>({
    max,
    ttl: ttlSeconds * 1000,
    ttlAutopurge: false,
    perf: { now: () => clock.now() },
  });
  feed.subscribe((change) => {
    if (change.kind === 'session') views.delete(change.id);
    else if (change.kind === 'all') views.clear();
    else if (change.kind === 'user') {
      for (const [sessionId, view] of views.entries()) {
        if (view.session.user_id === change.id) views.delete(sessionId);
      }
    }
  });
  return {
    get: (sessionId) => (ttlSeconds > 0 ? views.get(sessionId) : undefined),
    set: (sessionId, view) => {
      if (ttlSeconds > 0) views.set(sessionId, view);
    },
    forgetSession: (sessionId) => feed.announce({ kind: 'session', id: sessionId }),
    forgetUser: (userId) => feed.announce({ kind: 'user', id: userId }),
  };
}
