import { GatehouseError } from './gatehouse-error.js';

export type StorageFailureReason =
  | 'database_missing'
  | 'authentication_failed'
  | 'connection_refused'
  | 'host_not_found'
  | 'no_answer'
  | 'connection_lost'
  | 'busy'
  | 'not_accepting_connections'
  | 'not_writable'
  | 'not_a_database'
  | 'disk_failed'
  | 'closed'
  | 'unrecognised';

/** Why the database cannot be used, in an operator's words: never a password. */
export interface StorageFailure {
  reason: StorageFailureReason;
  /** What is wrong, with the driver's own words in parentheses. */
  cause: string;
  /** Whether waiting and retrying can help, or someone must change something first. */
  retryable: boolean;
  /** What to do about it, starting with whether retrying helps. */
  remedy: string;
}

/**
 * `storage_unavailable` carrying what an operator needs to act on it. A caller over HTTP sees only the
 * code and its public hint (retry); the command line, the doctor and the log see the failure.
 */
export class StorageUnavailableError extends GatehouseError {
  readonly failure: StorageFailure;
  /** The database, printable: its file, or its URL without the password. */
  readonly database: string;

  constructor(failure: StorageFailure, database: string, cause: unknown) {
    super('storage_unavailable', {
      retryAfterSeconds: 2,
      internal: `${database}: ${failure.cause}`,
      cause,
    });
    this.name = 'StorageUnavailableError';
    this.failure = failure;
    this.database = database;
  }
}

/** The words `gatehouse doctor`, `start` and every other command print for a database they cannot use. */
export function describeStorageFailure(database: string, failure: StorageFailure): string {
  return `${database}: ${failure.cause}. ${failure.remedy}`;
}
