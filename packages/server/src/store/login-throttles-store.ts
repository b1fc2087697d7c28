import type { Kysely } from 'kysely';
import type { Database, LoginThrottleTable } from './schema.js';

export type LoginThrottleRow = LoginThrottleTable;

export async function readLoginThrottle(
  db: Kysely<Database>,
  account: string,
): Promise<LoginThrottleRow | undefined> {
  return db.selectFrom('login_throttles').selectAll().where('account', '=', account).executeTakeFirst();
}

/**
 * Counts one failure atomically — concurrent failures each count — and returns the new count. `lockFor` turns
 * the count into the lock the account gets (if any), set in the same statement's wake.
 */
export async function incrementLoginFailures(
  db: Kysely<Database>,
  account: string,
  now: number,
  lockUntil: (failures: number) => number | null,
): Promise<number> {
  const row = await db
    .insertInto('login_throttles')
    .values({ account, failures: 1, last_failure_at: now, locked_until: null })
    .onConflict((oc) =>
      oc.column('account').doUpdateSet((eb) => ({
        failures: eb(eb.ref('login_throttles.failures'), '+', 1),
        last_failure_at: now,
      })),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  const lockedUntil = lockUntil(row.failures);
  if (lockedUntil !== null) {
    await db
      .updateTable('login_throttles')
      .set({ locked_until: lockedUntil })
      .where('account', '=', account)
      .where('failures', '=', row.failures)
      .execute();
  }
  return row.failures;
}

export async function clearLoginThrottle(db: Kysely<Database>, account: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('account', '=', account).execute();
}
