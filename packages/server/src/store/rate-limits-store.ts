import { type Kysely, sql } from 'kysely';
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
  const current = sql<boolean>`rate_limits.window_start > ${now - windowMs}`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: now, count: 1 })
    .onConflict((conflict) =>
      conflict.column('key').doUpdateSet({
        count: sql`case when ${current} then rate_limits.count + 1 else 1 end`,
        window_start: sql`case when ${current} then rate_limits.window_start else ${now} end`,
      }),
    )
    .returning(['count', 'window_start'])
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), windowStart: Number(row.window_start) };
}

export async function deleteRateLimitsBefore(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom('rate_limits').where('window_start', '<', before).execute();
}
