import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Counts one request under `key` in the fixed window starting at `windowStart`, in one atomic upsert: a row
 * from an older window starts over at 1. Answers the count so far in this window.
 */
export async function countRequest(db: Kysely<Database>, key: string, windowStart: number): Promise<number> {
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: windowStart, count: 1 })
    .onConflict((conflict) =>
      conflict.column('key').doUpdateSet({
        count: sql`case when rate_limits.window_start = ${windowStart} then rate_limits.count + 1 else 1 end`,
        window_start: windowStart,
      }),
    )
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function deleteRateLimitsBefore(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom('rate_limits').where('window_start', '<', before).execute();
}
