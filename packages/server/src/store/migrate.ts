import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { DialectName } from './dialect.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
}

/** Any constant the whole fleet agrees on: it names Gatehouse's migration lock. */
const MIGRATION_LOCK_ID = 7_146_205_391;

async function migrate(db: Kysely<Database>): Promise<string[]> {
  const result: MigrationResultSet = await migrator(db).migrateToLatest();
  if (result.error) throw result.error;
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Runs pending migrations once however many instances start together. On PostgreSQL the lock is a
 * transaction-scoped advisory lock held by a transaction that stays open while the migrations run: it works
 * through a transaction pooler, where a session lock (Kysely's default) would be taken on one server
 * connection and never released from another. (The PostgreSQL dialect's own migration lock is switched off
 * in database.ts.) On SQLite the migrations run in one IMMEDIATE transaction (database.ts). On MySQL Kysely takes `GET_LOCK` on
 * the one connection that runs the migrations.
 */
export async function migrateToLatest(db: Kysely<Database>, dialect: DialectName): Promise<string[]> {
  if (dialect !== 'postgres') return migrate(db);
  return db.transaction().execute(async (lock) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(lock);
    return migrate(db);
  });
}

export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
