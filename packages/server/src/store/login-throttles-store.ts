import { type Kysely, sql } from 'kysely';
import { isMysql } from './dialect.js';
import type { Database, LoginThrottleTable } from './schema.js';

export type LoginThrottleRow = LoginThrottleTable;

export async function readLoginThrottle(
  db: Kysely<Database>,
  account: string,
): Promise<LoginThrottleRow | undefined> {
  return db.selectFrom('login_throttles').selectAll().where('account', '=', account).executeTakeFirst();
}

/**
 * Counts one failure atomically — concurrent failures each count — and returns the new count, with the lock
 * `lockUntil` gives that count (or none) set beside it. Every failure runs the same statements whether or not
 * it locks, so the time a refusal takes says nothing about the account's state.
 */
export async function incrementLoginFailures(
  db: Kysely<Database>,
  account: string,
  now: number,
  lockUntil: (failures: number) => number | null,
): Promise<number> {
  const failures = await countFailure(db, account, now);
  await db
    .updateTable('login_throttles')
    .set({ locked_until: lockUntil(failures) })
    .where('account', '=', account)
    .where('failures', '=', failures)
    .execute();
  return failures;
}

async function countFailure(db: Kysely<Database>, account: string, now: number): Promise<number> {
  const firstFailure = (into: Kysely<Database>) =>
    into
      .insertInto('login_throttles')
      .values({ account, failures: 1, last_failure_at: now, locked_until: null });
  const counted = { failures: sql<number>`${sql.ref('login_throttles.failures')} + 1`, last_failure_at: now };
  if (!isMysql(db)) {
    const row = await firstFailure(db)
      .onConflict((oc) => oc.column('account').doUpdateSet(counted))
      .returning('failures')
      .executeTakeFirstOrThrow();
    return row.failures;
  }
  // No RETURNING on MySQL: the upsert's row lock, held to the end of the transaction, makes the read its own.
  return db.transaction().execute(async (trx) => {
    await firstFailure(trx).onDuplicateKeyUpdate(counted).execute();
    const row = await readLoginThrottle(trx, account);
    return row!.failures;
  });
}

export async function clearLoginThrottle(db: Kysely<Database>, account: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('account', '=', account).execute();
}
