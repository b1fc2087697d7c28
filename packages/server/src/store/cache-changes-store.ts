import type { Kysely } from 'kysely';
import type { CacheChangeTable, Database } from './schema.js';

export type CacheChangeRow = CacheChangeTable;

export async function insertCacheChanges(db: Kysely<Database>, rows: CacheChangeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('cache_changes').values(rows).execute();
}

export async function cacheChangesSince(db: Kysely<Database>, since: number): Promise<CacheChangeRow[]> {
  return db.selectFrom('cache_changes').selectAll().where('at', '>=', since).execute();
}

export async function deleteCacheChangesBefore(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom('cache_changes').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
