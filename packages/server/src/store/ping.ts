import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** The database server's clock in epoch ms (PostgreSQL); SQLite runs in this process, so it has no clock of its own. */
export async function databaseTime(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
): Promise<number | undefined> {
  if (dialect === 'sqlite') return undefined;
  const result = await sql<{
    now: number;
  }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as now`.execute(db);
  return Number(result.rows[0]?.now);
}
