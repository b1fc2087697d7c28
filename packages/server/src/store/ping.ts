import { type Kysely, sql } from 'kysely';
import type { DialectName } from './dialect.js';
import type { Database } from './schema.js';

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** The database server's clock in epoch ms; SQLite runs in this process, so it has no clock of its own. */
export async function databaseTime(db: Kysely<Database>, dialect: DialectName): Promise<number | undefined> {
  if (dialect === 'sqlite') return undefined;
  const now =
    dialect === 'mysql'
      ? sql<{ now: number }>`select round(unix_timestamp(now(3)) * 1000) as now`
      : sql<{ now: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as now`;
  const result = await now.execute(db);
  return Number(result.rows[0]?.now);
}
