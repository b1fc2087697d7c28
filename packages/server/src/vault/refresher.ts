import pLimit from 'p-limit';
import { listVaultConnections } from '../store/vault-connections-store.js';
import { refreshUnderLease } from './refresh.js';
import { dueInBackground } from './schedule.js';
import type { ServeDeps } from './serve-token.js';

export interface Refresher {
  /** One pass: refreshes every connection due within the next interval (each under its lease). */
  refreshDue(): Promise<void>;
  start(): void;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Providers asked at once during one pass; a slow one does not hold up the rest. */
const CONCURRENT_REFRESHES = 4;

/**
 * Renews tokens ahead of expiry. Every instance runs one; they all take the same per-connection lease, so
 * each connection is refreshed once however many instances tick, and a failed one waits out its backoff.
 */
export function createRefresher(
  deps: ServeDeps,
  intervalMs: number,
  onError: (error: unknown) => void,
): Refresher {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;
  const limit = pLimit(CONCURRENT_REFRESHES);

  async function refreshDue(): Promise<void> {
    const now = deps.clock.now();
    const due = (await listVaultConnections(deps.db)).filter((row) =>
      dueInBackground(row, now, intervalMs, deps.clockSkewMs),
    );
    const results = await Promise.allSettled(
      due.map((row) => limit(() => refreshUnderLease(deps, row, 'background'))),
    );
    for (const result of results) if (result.status === 'rejected') onError(result.reason);
  }

  return {
    refreshDue,
    start() {
      timer = setInterval(() => {
        pass ??= refreshDue()
          .catch(onError)
          .finally(() => {
            pass = undefined;
          });
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}
