import { type Kysely, sql } from 'kysely';
import { isMysql } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Counts one request under `key` in one atomic upsert. A key's window starts at its first request and lasts
 * `windowMs` (as Redis's expiring counter does); a request after that starts a new window at 1. Answers the
 * count so far and when the window started.
 */
export async function countRequest(
  db: Kysely<Database>,
  key: string,
  now: number,
  windowMs: number,
): Promise<{ count: number; windowStart: number }> {
  const windowStart = sql.ref('rate_limits.window_start');
  const current = sql<boolean>`${windowStart} > ${now - windowMs}`;
  // MySQL assigns left to right, each assignment seeing the ones before it: `count` reads the old window first.
  const counted = {
    count: sql<number>`case when ${current} then ${sql.ref('rate_limits.count')} + 1 else 1 end`,
    window_start: sql<number>`case when ${current} then ${windowStart} else ${now} end`,
  };
  const firstRequest = (into: Kysely<Database>) =>
    into.insertInto('rate_limits').values({ key, window_start: now, count: 1 });
  const row = isMysql(db)
    ? // No RETURNING on MySQL: the upsert's row lock, held to the end of the transaction, makes the read its own.
      await db.transaction().execute(async (trx) => {
        await firstRequest(trx).onDuplicateKeyUpdate(counted).execute();
        return trx
          .selectFrom('rate_limits')
          .select(['count', 'window_start'])
          .where('key', '=', key)
          .executeTakeFirstOrThrow();
      })
    : await firstRequest(db)
        .onConflict((conflict) => conflict.column('key').doUpdateSet(counted))
        .returning(['count', 'window_start'])
        .executeTakeFirstOrThrow();
  return { count: Number(row.count), windowStart: Number(row.window_start) };
}

/** The count of `key`'s current window, without counting a request (0 when its window has ended). */
export async function readRequestCount(
  db: Kysely<Database>,
  key: string,
  now: number,
  windowMs: number,
): Promise<number> {
  const row = await db
    .selectFrom('rate_limits')
    .select(['count', 'window_start'])
    .where('key', '=', key)
    .executeTakeFirst();
  return row && Number(row.window_start) > now - windowMs ? Number(row.count) : 0;
}

export async function deleteRateLimitsBefore(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom('rate_limits').where('window_start', '<', before).execute();
}
