import type { Kysely } from 'kysely';
import type { Database, VaultRefreshTable } from './schema.js';

export type VaultRefreshRow = VaultRefreshTable;

export async function insertVaultRefresh(db: Kysely<Database>, row: VaultRefreshRow): Promise<void> {
  await db.insertInto('vault_refreshes').values(row).execute();
}

/** Newest first. */
export async function listVaultRefreshes(
  db: Kysely<Database>,
  connectionId: string,
  limit: number,
): Promise<VaultRefreshRow[]> {
  return db
    .selectFrom('vault_refreshes')
    .selectAll()
    .where('connection_id', '=', connectionId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Keeps the newest `keep` attempts of a connection. */
export async function pruneVaultRefreshes(
  db: Kysely<Database>,
  connectionId: string,
  keep: number,
): Promise<void> {
  const oldestKept = await db
    .selectFrom('vault_refreshes')
    .select('started_at')
    .where('connection_id', '=', connectionId)
    .orderBy('started_at', 'desc')
    .offset(keep - 1)
    .limit(1)
    .executeTakeFirst();
  if (!oldestKept) return;
  await db
    .deleteFrom('vault_refreshes')
    .where('connection_id', '=', connectionId)
    .where('started_at', '<', oldestKept.started_at)
    .execute();
}
