import type { Kysely, Updateable } from 'kysely';
import type { AgentTable, Database } from './schema.js';

export type AgentRow = AgentTable;

/**
 * Inserts the agent unless its client already has one of that name, and returns the agent that holds the name.
 * The no-op update of the client's row serialises the registrations of one client (a row lock on PostgreSQL
 * and MySQL, the write lock on SQLite), so two at once cannot both insert.
 */
export async function insertAgentUnlessNamed(
  db: Kysely<Database>,
  row: AgentRow,
): Promise<{ agent: AgentRow; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('clients')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('id', '=', row.client_id)
      .execute();
    const existing = await trx
      .selectFrom('agents')
      .selectAll()
      .where('client_id', '=', row.client_id)
      .where('name', '=', row.name)
      .orderBy('created_at', 'asc')
      .executeTakeFirst();
    if (existing) return { agent: existing, created: false };
    await trx.insertInto('agents').values(row).execute();
    return { agent: row, created: true };
  });
}

export async function findAgentById(db: Kysely<Database>, id: string): Promise<AgentRow | undefined> {
  return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listAgents(db: Kysely<Database>, clientId?: string): Promise<AgentRow[]> {
  let query = db.selectFrom('agents').selectAll().orderBy('created_at', 'asc');
  if (clientId) query = query.where('client_id', '=', clientId);
  return query.execute();
}

export async function updateAgent(
  db: Kysely<Database>,
  id: string,
  patch: Updateable<Omit<AgentTable, 'id' | 'client_id'>>,
): Promise<void> {
  await db.updateTable('agents').set(patch).where('id', '=', id).execute();
}
