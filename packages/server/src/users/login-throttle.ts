import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { sha256Hex } from '../secrets/digest.js';
import {
  clearLoginThrottle,
  incrementLoginFailures,
  readLoginThrottle,
} from '../store/login-throttles-store.js';
import type { Database } from '../store/schema.js';

const MAX_LOCK_SECONDS = 15 * 60;

/**
 * Per-account brute-force protection. After `threshold` consecutive failures an account is locked for a delay
 * that doubles with each further failure (1 s, 2 s, 4 s … at most 15 minutes). A locked account is refused
 * exactly like a wrong password and counts as a failure whatever was tried, so an attacker cannot tell; a
 * success clears the counter. Unknown emails
 * are counted the same way (the same traces), and a sign-up clears its email's counter.
 */
export interface LoginThrottle {
  /** The lock in force for this canonical email, if any. */
  lockedUntil(email: string): Promise<number | undefined>;
  recordFailure(email: string): Promise<number>;
  recordSuccess(email: string): Promise<void>;
  /** An administrator's unlock: the failures are forgotten and any lock lifted. */
  clear(email: string): Promise<void>;
}

export const accountKey = (canonicalEmail: string): string => sha256Hex(`login:${canonicalEmail}`);

export function createLoginThrottle(db: Kysely<Database>, clock: Clock, threshold: number): LoginThrottle {
  const lockUntil = (failures: number) =>
    failures < threshold
      ? null
      : clock.now() + Math.min(2 ** (failures - threshold), MAX_LOCK_SECONDS) * 1000;
  const clear = (email: string) => clearLoginThrottle(db, accountKey(email));
  return {
    async lockedUntil(email) {
      const row = await readLoginThrottle(db, accountKey(email));
      return row?.locked_until && row.locked_until > clock.now() ? row.locked_until : undefined;
    },
    recordFailure: (email) => incrementLoginFailures(db, accountKey(email), clock.now(), lockUntil),
    recordSuccess: clear,
    clear,
  };
}
