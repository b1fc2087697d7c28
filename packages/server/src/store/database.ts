import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type Dialect,
  Kysely,
  MysqlDialect,
  PostgresAdapter,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
} from 'kysely';
import { LRUCache } from 'lru-cache';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { DialectName } from './dialect.js';
import type { Database } from './schema.js';
import { withStorageErrors } from './storage-errors.js';

export type DatabaseTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string }
  | { dialect: 'mysql'; url: string };

export interface Store {
  db: Kysely<Database>;
  dialect: DialectName;
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
 * SQLite runs DDL inside transactions. Kysely's adapter says it does not, and so migrates without any lock
 * (its SQLite migration lock is a no-op): two processes starting on one new file would both create the
 * tables. Saying so makes every migration run inside one IMMEDIATE transaction, one process after the other.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * SQLite transactions begin IMMEDIATE: a deferred one that reads and then writes fails at once with
 * SQLITE_BUSY (no busy wait) when another process or instance wrote in between; taking the write lock up
 * front makes it wait its turn under busy_timeout instead.
 */
function withImmediateTransactions(dialect: SqliteDialect): Dialect {
  return {
    createAdapter: () => new TransactionalDdlSqliteAdapter(),
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

/** `onConnectionError` hears about pooled connections that died; the next query reports its own failure. */
export function openStore(target: DatabaseTarget, onConnectionError: (error: Error) => void): Store {
  if (target.dialect === 'sqlite') {
    const description = `sqlite:${target.path}`;
    const db = new Kysely<Database>({
      dialect: withStorageErrors(
        withImmediateTransactions(new SqliteDialect({ database: async () => openSqlite(target.path) })),
        description,
      ),
    });
    return { db, dialect: 'sqlite', description, close: () => db.destroy() };
  }
  if (target.dialect === 'mysql') return openMysql(target.url, onConnectionError);
  return openPostgres(target.url, onConnectionError);
}

function openPostgres(url: string, onConnectionError: (error: Error) => void): Store {
  const pool = new pg.Pool({
    connectionString: url,
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
  const description = redactUrl(url);
  const db = new Kysely<Database>({
    dialect: withStorageErrors(new PoolerSafePostgresDialect({ pool }), description),
  });
  return { db, dialect: 'postgres', description, close: () => db.destroy() };
}

/**
 * Each connection reads committed data, as PostgreSQL's do (InnoDB's default, REPEATABLE READ, would let a
 * transaction that lost a race go on reading its stale snapshot), and runs in strict mode, so a value that
 * does not fit is an error rather than a silent truncation.
 */
const MYSQL_SESSION = [
  'set session transaction isolation level read committed',
  "set session sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
];

function openMysql(url: string, onConnectionError: (error: Error) => void): Store {
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: 10,
    connectTimeout: 5000,
    charset: 'utf8mb4',
    // SUM and AVG answer DECIMAL; epoch milliseconds and counts fit a JS number exactly.
    decimalNumbers: true,
  });
  pool.on('connection', (connection) => connection.on('error', onConnectionError));
  const dialect = new MysqlDialect({
    pool,
    async onCreateConnection(connection) {
      for (const statement of MYSQL_SESSION) await connection.executeQuery(CompiledQuery.raw(statement));
    },
  });
  const description = redactUrl(url);
  const db = new Kysely<Database>({ dialect: withStorageErrors(dialect, description) });
  return { db, dialect: 'mysql', description, close: () => db.destroy() };
}
