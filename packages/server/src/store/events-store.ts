import type { Kysely } from 'kysely';
import type { Database, EventTable } from './schema.js';

export type EventRow = EventTable;

export interface EventFilter {
  code?: string;
  type?: string;
  userId?: string;
  clientId?: string;
  agentId?: string;
  keyId?: string;
  requestId?: string;
  since?: number;
  /** Only events strictly older than this id (the cursor of the previous page). */
  before?: string;
  limit: number;
}

export async function insertEvents(db: Kysely<Database>, rows: EventRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('events').values(rows).execute();
}

/** Newest first; ids are UUIDv7, so ordering by id is ordering by time. */
export async function queryEvents(db: Kysely<Database>, filter: EventFilter): Promise<EventRow[]> {
  let query = db.selectFrom('events').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.code) query = query.where('code', '=', filter.code);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.clientId) query = query.where('client_id', '=', filter.clientId);
  if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
  if (filter.keyId) query = query.where('key_id', '=', filter.keyId);
  if (filter.requestId) query = query.where('request_id', '=', filter.requestId);
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
  if (filter.before) query = query.where('id', '<', filter.before);
  return query.execute();
}

export async function deleteEventsBefore(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom('events').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
