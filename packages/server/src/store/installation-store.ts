import type { Kysely, Transaction } from 'kysely';
import { insertIfAbsent } from './dialect.js';
import type { Database, InstallationTable } from './schema.js';

export type InstallationRow = Omit<InstallationTable, 'singleton'>;

export async function readInstallation(db: Kysely<Database>): Promise<InstallationRow | undefined> {
  return db
    .selectFrom('installation')
    .select(['id', 'master_key_fingerprint', 'created_at'])
    .where('singleton', '=', 1)
    .executeTakeFirst();
}

/** Inserts the installation row unless one exists, and returns the row that is there (ours or a concurrent start's). */
export async function claimInstallation(
  db: Kysely<Database>,
  candidate: InstallationRow,
): Promise<InstallationRow> {
  await insertIfAbsent(db, db.insertInto('installation').values({ singleton: 1, ...candidate }));
  const row = await readInstallation(db);
  if (!row) throw new Error('The installation row vanished right after it was written');
  return row;
}

/**
 * Takes the database-wide write lock for this transaction (a no-op update of the installation row):
 * a row lock on PostgreSQL, the write lock on SQLite. Work that must happen once across instances —
 * creating or rotating signing keys — runs after it.
 */
export async function lockInstallation(trx: Transaction<Database>): Promise<void> {
  await trx
    .updateTable('installation')
    .set((eb) => ({ created_at: eb.ref('created_at') }))
    .where('singleton', '=', 1)
    .execute();
}
