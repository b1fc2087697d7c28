import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, type Dialect, Kysely, PostgresAdapter, PostgresDialect, SqliteDialect } from 'kysely';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Database } from './schema.js';
import { withStorageErrors } from './storage-errors.js';

export type DatabaseTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface Store {
  db: Kysely<Database>;
  dialect: DatabaseTarget['dialect'];
  /** A printable name of the database with any password removed, for logs. */
  description: string;
  close(): Promise<void>;
}

const PG_INT8_OID = 20;

function openSqlite(file: string): SQLite.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Another process (the CLI while the server runs) may hold the write lock for a moment.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return withStatementCache(sqlite);
}

/**
 * Kysely prepares a statement for every query; on the hot path preparing costs several times what running
 * the query does. Statements are cached by SQL text (Kysely runs them to completion, never interleaved).
 */
function withStatementCache(sqlite: SQLite.Database, size = 256): SQLite.Database {
  const statements = new LRUCache<string, SQLite.Statement>({ max: size });
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    let statement = statements.get(source);
    if (!statement) {
      statement = prepare(source);
      statements.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
  return sqlite;
}

/**
 * SQLite transactions begin IMMEDIATE: a deferred one that reads and then writes fails at once with
 * SQLITE_BUSY (no busy wait) when another process or instance wrote in between; taking the write lock up
 * front makes it wait its turn under busy_timeout instead.
 */
function withImmediateTransactions(dialect: SqliteDialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver() {
      const driver = dialect.createDriver();
      return {
        init: () => driver.init(),
        acquireConnection: () => driver.acquireConnection(),
        beginTransaction: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw('begin immediate'));
        },
        commitTransaction: (connection) => driver.commitTransaction(connection),
        rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
        releaseConnection: (connection) => driver.releaseConnection(connection),
        destroy: () => driver.destroy(),
      };
    },
  };
}

/**
 * Kysely's PostgreSQL migration lock is a session advisory lock: through a transaction pooler it is taken
 * on one server connection and released (or not) on another, and the next start waits forever. migrate.ts
 * holds a transaction-scoped lock instead, so this adapter takes none.
 */
class PoolerSafePostgresAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

class PoolerSafePostgresDialect extends PostgresDialect {
  override createAdapter() {
    return new PoolerSafePostgresAdapter();
  }
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}

/** `onConnectionError` hears about idle pooled connections that died; the next query reports its own failure. */
export function openStore(target: DatabaseTarget, onConnectionError: (error: Error) => void): Store {
  if (target.dialect === 'sqlite') {
    const db = new Kysely<Database>({
      dialect: withStorageErrors(
        withImmediateTransactions(new SqliteDialect({ database: async () => openSqlite(target.path) })),
      ),
    });
    return { db, dialect: 'sqlite', description: `sqlite:${target.path}`, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 10,
    connectionTimeoutMillis: 5000,
    // Epoch milliseconds are int8; they fit a JS number exactly (until the year 287396).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', onConnectionError);
  // The pool listens for errors only on idle connections. One in use that is cut (PostgreSQL restarting, a
  // pooler closing it) emits an error too, which without a listener would end the process; the query on it
  // fails on its own, as storage_unavailable.
  pool.on('connect', (client) => client.on('error', onConnectionError));
  const db = new Kysely<Database>({ dialect: withStorageErrors(new PoolerSafePostgresDialect({ pool })) });
  return { db, dialect: 'postgres', description: redactUrl(target.url), close: () => db.destroy() };
}
