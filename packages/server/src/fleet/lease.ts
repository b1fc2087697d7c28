import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { tryTakeLease } from '../store/leases-store.js';
import type { Database } from '../store/schema.js';

export interface Leases {
  /**
   * Runs `work` only if this instance holds the named lease, taking it when it is free or expired. The
   * holder keeps it by renewing on each run, so a periodic job stays on one instance until that one stops.
   */
  runOnce(name: string, ttlMs: number, work: () => Promise<void>): Promise<boolean>;
}

export function createLeases(db: Kysely<Database>, clock: Clock, holder: string): Leases {
  return {
    async runOnce(name, ttlMs, work) {
      const now = clock.now();
      if (!(await tryTakeLease(db, { name, holder, now, until: now + ttlMs }))) return false;
      await work();
      return true;
    },
  };
}
