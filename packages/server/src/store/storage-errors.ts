import type { DatabaseConnection, Dialect, Driver } from 'kysely';
import { GatehouseError } from '../errors/gatehouse-error.js';

const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator
// intervention), 3D000 (no such database), and 40001/40P01 (serialization failure, deadlock: retry).
const UNAVAILABLE_PG_STATE = /^(08|53|57P)|^(3D000|40001|40P01)$/;
// mysql2's codes for the same conditions on MySQL and MariaDB.
const UNAVAILABLE_MYSQL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_BAD_DB_ERROR',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);
const UNAVAILABLE_SQLITE = /^SQLITE_(CANTOPEN|IOERR|BUSY|LOCKED|READONLY|NOTADB|CORRUPT|FULL|AUTH|PERM)/;
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|database connection is not open|Cannot use a pool after calling end|connection is in closed state|Pool is closed/i;

/** True when the error means the database cannot be reached or used right now, not that the query is wrong. */
export function isStorageUnavailable(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  return (
    UNAVAILABLE_NODE_CODES.has(code) ||
    UNAVAILABLE_PG_STATE.test(code) ||
    UNAVAILABLE_MYSQL_CODES.has(code) ||
    UNAVAILABLE_SQLITE.test(code) ||
    UNAVAILABLE_MESSAGE.test(error.message)
  );
}

function translate(error: unknown): unknown {
  if (!isStorageUnavailable(error)) return error;
  return new GatehouseError('storage_unavailable', {
    retryAfterSeconds: 2,
    cause: error,
    internal: error.message,
  });
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}

function guardConnection(connection: DatabaseConnection): DatabaseConnection {
  return {
    executeQuery: (query) => guarded(() => connection.executeQuery(query)),
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}

/**
 * Wraps a dialect so that "the database is gone" surfaces as `storage_unavailable` (503, retry) at every
 * call site, never as a 500 or — worse — a 401 that makes clients sign users out.
 */
export function withStorageErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver(): Driver {
      const driver = dialect.createDriver();
      const originals = new WeakMap<DatabaseConnection, DatabaseConnection>();
      const original = (connection: DatabaseConnection) => originals.get(connection) ?? connection;
      return {
        init: () => guarded(() => driver.init()),
        async acquireConnection() {
          // Whatever stops us from getting a connection (refused, no such database, connections disallowed,
          // pool timeout) means the database cannot be used right now.
          const connection = await driver.acquireConnection().catch((error: unknown) => {
            throw new GatehouseError('storage_unavailable', {
              retryAfterSeconds: 2,
              cause: error,
              internal: (error as Error).message,
            });
          });
          const wrapped = guardConnection(connection);
          originals.set(wrapped, connection);
          return wrapped;
        },
        beginTransaction: (c, settings) => guarded(() => driver.beginTransaction(original(c), settings)),
        commitTransaction: (c) => guarded(() => driver.commitTransaction(original(c))),
        rollbackTransaction: (c) => guarded(() => driver.rollbackTransaction(original(c))),
        releaseConnection: (c) => driver.releaseConnection(original(c)),
        destroy: () => driver.destroy(),
      };
    },
  };
}
