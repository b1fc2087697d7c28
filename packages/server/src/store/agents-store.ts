import type { Kysely, Updateable } from 'kysely';
import type { AgentTable, Database } from './schema.js';

export type AgentRow = AgentTable;

export async function insertAgent(db: Kysely<Database>, row: AgentRow): Promise<void> {
  await db.insertInto('agents').values(row).execute();
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
