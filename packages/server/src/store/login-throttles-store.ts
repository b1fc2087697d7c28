import { type Kysely, sql } from 'kysely';
import { insertIfAbsent, isMysql } from './dialect.js';
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

export async function readLoginThrottles(
  db: Kysely<Database>,
  accounts: string[],
): Promise<LoginThrottleRow[]> {
  if (!accounts.length) return [];
  return db.selectFrom('login_throttles').selectAll().where('account', 'in', accounts).execute();
}

/**
 * Raises the account's counter and lock to at least `row`'s, never lowering either: an import carries a lock,
 * and failures counted here meanwhile still count.
 */
export async function raiseLoginThrottle(db: Kysely<Database>, row: LoginThrottleRow): Promise<void> {
  if (await insertIfAbsent(db, db.insertInto('login_throttles').values(row))) return;
  await db
    .updateTable('login_throttles')
    .set({ failures: row.failures, last_failure_at: row.last_failure_at })
    .where('account', '=', row.account)
    .where('failures', '<', row.failures)
    .execute();
  const lockedUntil = row.locked_until;
  if (lockedUntil === null) return;
  await db
    .updateTable('login_throttles')
    .set({ locked_until: lockedUntil })
    .where('account', '=', row.account)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', lockedUntil)]))
    .execute();
}
