import type { DatabaseConnection, Dialect, Driver } from 'kysely';
import {
  type StorageFailure,
  type StorageFailureReason,
  StorageUnavailableError,
} from '../errors/storage-unavailable.js';

const NODE_CODES: Record<string, StorageFailureReason> = {
  ECONNREFUSED: 'connection_refused',
  ENOTFOUND: 'host_not_found',
  EAI_AGAIN: 'no_answer',
  ETIMEDOUT: 'no_answer',
  EHOSTUNREACH: 'no_answer',
  ENETUNREACH: 'no_answer',
  ECONNRESET: 'connection_lost',
  EPIPE: 'connection_lost',
  // Creating the data directory or the SQLite file: a file in the way, or no permission.
  EACCES: 'not_writable',
  EPERM: 'not_writable',
  EROFS: 'not_writable',
  EEXIST: 'not_writable',
  ENOTDIR: 'not_writable',
  EISDIR: 'not_writable',
  ENOSPC: 'disk_failed',
};
// mysql2's codes, on MySQL and MariaDB.
const MYSQL_CODES: Record<string, StorageFailureReason> = {
  ER_BAD_DB_ERROR: 'database_missing',
  ER_ACCESS_DENIED_ERROR: 'authentication_failed',
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'authentication_failed',
  ER_DBACCESS_DENIED_ERROR: 'authentication_failed',
  ER_ACCOUNT_HAS_BEEN_LOCKED: 'authentication_failed',
  PROTOCOL_CONNECTION_LOST: 'connection_lost',
  PROTOCOL_SEQUENCE_TIMEOUT: 'connection_lost',
  ER_CLIENT_INTERACTION_TIMEOUT: 'connection_lost',
  ER_CONNECTION_KILLED: 'connection_lost',
  ER_QUERY_INTERRUPTED: 'connection_lost',
  ER_CON_COUNT_ERROR: 'busy',
  ER_TOO_MANY_USER_CONNECTIONS: 'busy',
  ER_LOCK_DEADLOCK: 'busy',
  ER_LOCK_WAIT_TIMEOUT: 'busy',
  ER_SERVER_SHUTDOWN: 'not_accepting_connections',
  ER_NORMAL_SHUTDOWN: 'not_accepting_connections',
  // A read-only server: a replica, or a primary in the middle of a failover.
  ER_OPTION_PREVENTS_STATEMENT: 'not_accepting_connections',
};
/** PostgreSQL SQLSTATE codes and classes, first match wins. */
const PG_STATES: [RegExp, StorageFailureReason][] = [
  [/^3D000$/, 'database_missing'],
  [/^28/, 'authentication_failed'],
  [/^08/, 'connection_lost'],
  [/^53100$/, 'disk_failed'],
  // Insufficient resources (too many connections), and serialization failures or deadlocks: retry.
  [/^(53|40001$|40P01$)/, 'busy'],
  [/^57P/, 'not_accepting_connections'],
];
const SQLITE_CODES: [RegExp, StorageFailureReason][] = [
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_(READONLY|PERM|CANTOPEN|AUTH)/, 'not_writable'],
  [/^SQLITE_(NOTADB|CORRUPT)/, 'not_a_database'],
  [/^SQLITE_(FULL|IOERR)/, 'disk_failed'],
];
/** Driver errors that carry no code, recognised by their words. */
const MESSAGES: [RegExp, StorageFailureReason][] = [
  [/is not currently accepting connections/i, 'not_accepting_connections'],
  // MariaDB's locked account (4151), which mysql2 names after an unrelated MySQL code.
  [/this account is locked/i, 'authentication_failed'],
  // pg's client-side SCRAM failures (a wrong password against a SCRAM server, or one that skips the proof).
  [/^SASL:|SCRAM/i, 'authentication_failed'],
  [/connection timeout|timeout exceeded when trying to connect/i, 'no_answer'],
  [
    /Connection terminated|Client has encountered a connection error|connection is in closed state/i,
    'connection_lost',
  ],
  [/database connection is not open|Cannot use a pool after calling end|Pool is closed/i, 'closed'],
];

const EXPLANATIONS: Record<
  StorageFailureReason,
  Omit<StorageFailure, 'reason' | 'cause'> & { headline: string }
> = {
  database_missing: {
    headline: 'the database does not exist',
    retryable: false,
    remedy: 'Retrying will not help: create the database, or correct its name in GATEHOUSE_DATABASE_URL.',
  },
  authentication_failed: {
    headline: 'authentication failed',
    retryable: false,
    remedy:
      'Retrying will not help: correct the user or password in GATEHOUSE_DATABASE_URL, or give that user access to the database.',
  },
  connection_refused: {
    headline: 'connection refused',
    retryable: true,
    remedy:
      'Retrying helps once the database server is up: start it, or correct the host and port in GATEHOUSE_DATABASE_URL.',
  },
  host_not_found: {
    headline: 'host not found',
    retryable: false,
    remedy: 'Retrying will not help: correct the host name in GATEHOUSE_DATABASE_URL.',
  },
  no_answer: {
    headline: 'no answer in time',
    retryable: true,
    remedy:
      'Retrying can help: check that the database server runs and that this host can reach it (network, firewall).',
  },
  connection_lost: {
    headline: 'connection lost',
    retryable: true,
    remedy:
      "Retrying can help: Gatehouse reconnects by itself. If this persists, read the database server's log.",
  },
  busy: {
    headline: 'the database is busy',
    retryable: true,
    remedy:
      'Retrying can help: another process holds a lock or every connection. If this persists, find the stuck writer or raise the connection limit.',
  },
  not_accepting_connections: {
    headline: 'the database is not accepting connections',
    retryable: true,
    remedy:
      'Retrying helps once it accepts them again: it is starting, stopping or failing over, or an operator closed it.',
  },
  not_writable: {
    headline: 'the database file cannot be opened or written',
    retryable: false,
    remedy:
      'Retrying will not help: make the file and its directory writable by this user, or choose another place with --data-dir or GATEHOUSE_DATABASE_URL.',
  },
  not_a_database: {
    headline: 'the file is not a database, or is damaged',
    retryable: false,
    remedy:
      'Retrying will not help: point GATEHOUSE_DATABASE_URL at the Gatehouse database, or restore it from a backup.',
  },
  disk_failed: {
    headline: 'the disk is full or failing',
    retryable: false,
    remedy: 'Retrying will not help until the disk has space and works again: check it.',
  },
  closed: {
    headline: 'the connections are closed',
    retryable: true,
    remedy: 'Retrying helps against an instance that is not stopping.',
  },
  unrecognised: {
    headline: 'the database cannot be used',
    retryable: true,
    remedy: 'Retrying may help; `gatehouse doctor` checks the whole installation.',
  },
};

const firstMatch = (rules: [RegExp, StorageFailureReason][], text: string) =>
  rules.find(([pattern]) => pattern.test(text))?.[1];

/** The driver's words, with any password in a URL masked. Node joins failed addresses in an AggregateError. */
function driverWords(error: unknown): string {
  const failure = error as { message?: string; errors?: { message?: string }[]; code?: string };
  const words =
    failure.message ||
    failure.errors?.map((each) => each.message).join('; ') ||
    failure.code ||
    String(error);
  return words.replace(/(\/\/[^/\s:@]*:)[^@\s]*@/g, '$1***@');
}

/**
 * The one classification of database failures, shared by the command line (through the error every store
 * call throws), `/readyz` and `gatehouse doctor`: what is wrong and whether retrying can help.
 * `unrecognised` means the error says nothing about the database being unusable: it may be the query's own.
 */
export function classifyStorageFailure(error: unknown): StorageFailure {
  if (error instanceof StorageUnavailableError) return error.failure;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = (error as { message?: unknown }).message;
  const reason =
    NODE_CODES[code] ??
    MYSQL_CODES[code] ??
    firstMatch(PG_STATES, code) ??
    firstMatch(SQLITE_CODES, code) ??
    firstMatch(MESSAGES, typeof message === 'string' ? message : '') ??
    'unrecognised';
  const { headline, ...advice } = EXPLANATIONS[reason];
  return { reason, cause: `${headline} (${driverWords(error)})`, ...advice };
}

function translate(error: unknown, database: string): unknown {
  const failure = classifyStorageFailure(error);
  return failure.reason === 'unrecognised' ? error : new StorageUnavailableError(failure, database, error);
}

async function guarded<T>(work: () => Promise<T>, database: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error, database);
  }
}

function guardConnection(connection: DatabaseConnection, database: string): DatabaseConnection {
  return {
    executeQuery: (query) => guarded(() => connection.executeQuery(query), database),
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}

/**
 * Wraps a dialect so that "the database is gone" surfaces as `storage_unavailable` (503, retry) at every
 * call site, never as a 500 or — worse — a 401 that makes clients sign users out. `database` is the
 * printable name of the database (no password) that the error names.
 */
export function withStorageErrors(dialect: Dialect, database: string): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver(): Driver {
      const driver = dialect.createDriver();
      const originals = new WeakMap<DatabaseConnection, DatabaseConnection>();
      const original = (connection: DatabaseConnection) => originals.get(connection) ?? connection;
      return {
        init: () => guarded(() => driver.init(), database),
        async acquireConnection() {
          // Whatever stops us from getting a connection (refused, no such database, connections disallowed,
          // pool timeout) means the database cannot be used right now.
          const connection = await driver.acquireConnection().catch((error: unknown) => {
            throw new StorageUnavailableError(classifyStorageFailure(error), database, error);
          });
          const wrapped = guardConnection(connection, database);
          originals.set(wrapped, connection);
          return wrapped;
        },
        beginTransaction: (c, settings) =>
          guarded(() => driver.beginTransaction(original(c), settings), database),
        commitTransaction: (c) => guarded(() => driver.commitTransaction(original(c)), database),
        rollbackTransaction: (c) => guarded(() => driver.rollbackTransaction(original(c)), database),
        releaseConnection: (c) => driver.releaseConnection(original(c)),
        destroy: () => driver.destroy(),
      };
    },
  };
}
