import type { Kysely, Updateable } from 'kysely';
import type { ClientTable, Database } from './schema.js';

export type ClientRow = ClientTable;

export async function insertClient(db: Kysely<Database>, row: ClientRow): Promise<void> {
  await db.insertInto('clients').values(row).execute();
}

export async function findClientById(db: Kysely<Database>, id: string): Promise<ClientRow | undefined> {
  return db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listClients(db: Kysely<Database>): Promise<ClientRow[]> {
  return db.selectFrom('clients').selectAll().orderBy('created_at', 'asc').execute();
}

export async function updateClient(
  db: Kysely<Database>,
  id: string,
  patch: Updateable<Omit<ClientTable, 'id'>>,
): Promise<boolean> {
  const result = await db.updateTable('clients').set(patch).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
