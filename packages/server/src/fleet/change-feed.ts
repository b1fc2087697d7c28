import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../clock.js';
import {
  cacheChangesSince,
  deleteCacheChangesBefore,
  insertCacheChanges,
} from '../store/cache-changes-store.js';
import type { Database } from '../store/schema.js';
import type { Leases } from './lease.js';
import type { ChangeBus } from './redis-bus.js';

/** `all`: this instance lost sight of the feed (the database poll failed) and must trust no cached entry. */
export type Change = { kind: 'session' | 'user' | 'key' | 'client'; id: string } | { kind: 'all'; id: '*' };

/**
 * How instances tell each other that something they may have cached changed (a logout, a revoked key, a
 * suspended client, a disabled user). A change applies at once on the instance that makes it; the others
 * hear it through Redis at once when configured, and through the database poll within `pollMs` in any case.
 */
export interface ChangeFeed {
  announce(change: Change): void;
  /** Hears every change, from this instance and the others, possibly more than once. */
  subscribe(listener: (change: Change) => void): void;
  start(): void;
  close(): Promise<void>;
}

/** How far back each poll looks: more than the poll interval plus any clock difference between instances. */
const LOOKBACK_MS = 5_000;
/**
 * A request that read a row just before a change and caches it just after the eviction would keep a stale
 * entry; each change is therefore delivered a second time this long after it was first seen.
 */
const REDELIVER_AFTER_MS = 1_000;
const KEEP_CHANGES_MS = 10 * 60_000;
const CLEANUP_EVERY_MS = 60_000;

export function createChangeFeed(options: {
  db: Kysely<Database>;
  clock: Clock;
  instanceId: string;
  pollMs: number;
  leases: Leases;
  bus?: ChangeBus;
  onError: (error: unknown, message: string) => void;
}): ChangeFeed {
  const { db, clock, bus } = options;
  const listeners: ((change: Change) => void)[] = [];
  /** Change id → when this instance first applied it, and whether it has been delivered the second time. */
  const seen = new Map<string, { at: number; redelivered: boolean }>();
  const writes = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const deliver = (change: Change) => {
    for (const listener of listeners) listener(change);
  };

  const record = async (id: string, change: Change) => {
    await insertCacheChanges(db, [{ id, kind: change.kind, subject: change.id, at: clock.now() }]);
    await bus?.publish(JSON.stringify({ origin: options.instanceId, ...change }));
  };

  const poll = async () => {
    const now = clock.now();
    const rows = await cacheChangesSince(db, now - LOOKBACK_MS).catch((error: unknown) => {
      options.onError(error, 'could not read the change feed; cached sessions and keys are dropped');
      deliver({ kind: 'all', id: '*' });
      return [];
    });
    for (const row of rows) {
      const change = { kind: row.kind, id: row.subject } as Change;
      const first = seen.get(row.id);
      if (!first) {
        seen.set(row.id, { at: now, redelivered: false });
        deliver(change);
      } else if (!first.redelivered && now - first.at >= REDELIVER_AFTER_MS) {
        first.redelivered = true;
        deliver(change);
      }
    }
    for (const [id, entry] of seen) if (now - entry.at > 2 * LOOKBACK_MS) seen.delete(id);
  };

  const cleanup = () =>
    options.leases.runOnce('cache-changes-cleanup', 2 * CLEANUP_EVERY_MS, async () => {
      await deleteCacheChangesBefore(db, clock.now() - KEEP_CHANGES_MS);
    });

  return {
    announce(change) {
      deliver(change);
      const id = uuidv7();
      seen.set(id, { at: clock.now(), redelivered: false });
      const write = record(id, change).catch((error: unknown) =>
        options.onError(error, `could not announce a ${change.kind} change to other instances`),
      );
      writes.add(write);
      void write.finally(() => writes.delete(write));
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    start() {
      bus?.onMessage((message) => {
        try {
          const { origin, ...change } = JSON.parse(message) as Change & { origin: string };
          if (origin !== options.instanceId) deliver(change);
        } catch (error) {
          options.onError(error, 'ignored an unreadable message on the change channel');
        }
      });
      const pollTimer = setInterval(() => void poll(), options.pollMs);
      const cleanupTimer = setInterval(
        () =>
          void cleanup().catch((error: unknown) => options.onError(error, 'could not prune the change feed')),
        CLEANUP_EVERY_MS,
      );
      pollTimer.unref();
      cleanupTimer.unref();
      timers.push(pollTimer, cleanupTimer);
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(writes);
    },
  };
}
