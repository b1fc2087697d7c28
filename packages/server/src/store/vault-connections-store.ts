import type { Kysely, Updateable } from 'kysely';
import { insertIfAbsent } from './dialect.js';
import type { Database, VaultConnectionTable } from './schema.js';

export type VaultConnectionRow = VaultConnectionTable;

/** What one refresh changes; revision, lease and updated_at are handled by the store. */
export type VaultRefreshPatch = Updateable<
  Omit<VaultConnectionTable, 'id' | 'revision' | 'refresh_lease_until' | 'lease_holder' | 'updated_at'>
>;

/** False when the name is taken. */
export async function insertVaultConnection(db: Kysely<Database>, row: VaultConnectionRow): Promise<boolean> {
  return insertIfAbsent(db, db.insertInto('vault_connections').values(row));
}

export async function findVaultConnectionByName(
  db: Kysely<Database>,
  name: string,
): Promise<VaultConnectionRow | undefined> {
  return db.selectFrom('vault_connections').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listVaultConnections(db: Kysely<Database>): Promise<VaultConnectionRow[]> {
  return db.selectFrom('vault_connections').selectAll().orderBy('name', 'asc').execute();
}

/** An administrative change; bumps the revision so a refresh that started from the old row cannot win. */
export async function updateVaultConnection(
  db: Kysely<Database>,
  id: string,
  patch: Updateable<Omit<VaultConnectionTable, 'id' | 'revision' | 'updated_at'>>,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('vault_connections')
    .set((eb) => ({ ...patch, updated_at: now, revision: eb('revision', '+', 1) }))
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteVaultConnection(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('vault_connections').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * The refresh lease: one conditional UPDATE that at most one caller wins, on every database alike. It is
 * won only from the revision the caller read (nobody refreshed since) and only while no live lease exists;
 * concurrent updates of one row serialise on its row lock, and the losers match no row.
 */
export async function takeRefreshLease(
  db: Kysely<Database>,
  lease: { id: string; revision: number; holder: string; now: number; until: number },
): Promise<boolean> {
  const result = await db
    .updateTable('vault_connections')
    .set({ lease_holder: lease.holder, refresh_lease_until: lease.until })
    .where('id', '=', lease.id)
    .where('revision', '=', lease.revision)
    .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<=', lease.now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Writes a refresh's outcome and releases the lease — only while the caller still holds it. */
export async function completeRefresh(
  db: Kysely<Database>,
  id: string,
  holder: string,
  patch: VaultRefreshPatch,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('vault_connections')
    .set((eb) => ({
      ...patch,
      lease_holder: null,
      refresh_lease_until: null,
      updated_at: now,
      revision: eb('revision', '+', 1),
    }))
    .where('id', '=', id)
    .where('lease_holder', '=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The provider refused the current token early: it stops being served, once, whoever reported it. */
export async function expireVaultToken(
  db: Kysely<Database>,
  id: string,
  revision: number,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('vault_connections')
    .set((eb) => ({ expires_at: now, updated_at: now, revision: eb('revision', '+', 1) }))
    .where('id', '=', id)
    .where('revision', '=', revision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
