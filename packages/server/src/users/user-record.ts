import { toIso } from '../clock.js';
import type { LoginThrottleRow } from '../store/login-throttles-store.js';
import type { UserRow } from '../store/users-store.js';
import { parseEmail } from './email.js';
import { isSupportedHash } from './passwords.js';
import { KNOWN_ROLES } from './users.js';

/**
 * An account's second factor as a line carries it: the authenticator app (TOTP) whose secret is sealed under
 * the operator's transfer key, never in clear, and the backup codes as stored (HMACs under the source's
 * `backup-codes` subkey, with a check value of that subkey so the target knows whether they verify there).
 */
export interface SecondFactorRecord {
  /** When the authenticator app was confirmed: MFA is on from then. */
  enabled_at: string;
  totp: { secret_sealed: string; created_at: string; last_step: number };
  backup_codes: {
    key_check: string;
    codes: { hash: string; created_at: string; used_at: string | null }[];
  };
}

/** The `mfa` of a line exported with `--without-mfa`: the account's second factor was left out knowingly. */
export const MFA_NOT_EXPORTED = 'not_exported';

/** The account's login throttle: failures that count towards a lock, and the lock in force. */
export interface LockRecord {
  failures: number;
  last_failure_at: string;
  locked_until: string | null;
}

/** One line of `gatehouse users export`: ids and password hashes kept, so tokens stay valid after a move. */
export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  roles: string[];
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
  /** null: the account has no second factor. */
  mfa: SecondFactorRecord | null | typeof MFA_NOT_EXPORTED;
  /** null: no failed sign-in counts against the account. */
  lock: LockRecord | null;
}

export function toUserRecord(
  row: UserRow,
  mfa: UserRecord['mfa'],
  throttle: LoginThrottleRow | undefined,
): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    password_hash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    disabled_at: row.disabled_at === null ? null : toIso(row.disabled_at),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    mfa,
    lock: throttle
      ? {
          failures: throttle.failures,
          last_failure_at: toIso(throttle.last_failure_at),
          locked_until: throttle.locked_until === null ? null : toIso(throttle.locked_until),
        }
      : null,
  };
}

/** A line read back: the user's row, and what it says beyond the row (absent in files from older versions). */
export interface ParsedUserLine {
  user: UserRow;
  /** Absent, `not_exported`, null or a record for the mfa domain to read. */
  mfa: unknown;
  lock: Omit<LoginThrottleRow, 'account'> | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** JSON can spell a lone surrogate (`"\ud800"`); no database stores one as written, each replaces it silently. */
const LONE_SURROGATE = /\p{Cs}/u;

function wellFormed(value: string, field: string): string {
  if (LONE_SURROGATE.test(value)) {
    throw new Error(`${field} is not well-formed Unicode: it holds a lone surrogate`);
  }
  return value;
}

function parseTime(value: unknown, field: string, fallback: number | null): number | null {
  if (value === undefined || value === null) return fallback;
  const ms = typeof value === 'number' ? value : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw new Error(`${field} is not a time`);
  return ms;
}

function parseLock(value: unknown): ParsedUserLine['lock'] {
  if (value === undefined || value === null) return undefined;
  const lock = value as Record<string, unknown>;
  if (typeof lock.failures !== 'number' || !Number.isSafeInteger(lock.failures) || lock.failures < 1) {
    throw new Error('lock.failures must be a whole number of at least 1');
  }
  const lastFailureAt = parseTime(lock.last_failure_at, 'lock.last_failure_at', null);
  if (lastFailureAt === null) throw new Error('lock.last_failure_at is required');
  return {
    failures: lock.failures,
    last_failure_at: lastFailureAt,
    locked_until: parseTime(lock.locked_until, 'lock.locked_until', null),
  };
}

function parseMfa(value: unknown): unknown {
  const readable =
    value === undefined ||
    value === null ||
    value === MFA_NOT_EXPORTED ||
    (typeof value === 'object' && !Array.isArray(value));
  if (!readable)
    throw new Error(`mfa must be null, "${MFA_NOT_EXPORTED}" or an object from \`users export\``);
  return value;
}

function parseUser(record: Record<string, unknown>, now: number): UserRow {
  if (typeof record.id !== 'string' || !UUID.test(record.id)) throw new Error('id must be a UUID');
  if (typeof record.email !== 'string') throw new Error('email is required');
  const hash = record.password_hash;
  if (hash !== null && hash !== undefined && (typeof hash !== 'string' || !isSupportedHash(hash))) {
    throw new Error('password_hash must be an argon2 or bcrypt hash ($argon2id$…, $2a$/$2b$/$2y$…) or null');
  }
  const roles = record.roles ?? [];
  if (!Array.isArray(roles) || roles.some((r) => !(KNOWN_ROLES as readonly unknown[]).includes(r))) {
    throw new Error(`roles must be a list of ${KNOWN_ROLES.join(', ')}`);
  }
  return {
    id: record.id.toLowerCase(),
    email: parseEmail(wellFormed(record.email, 'email')),
    name: typeof record.name === 'string' ? wellFormed(record.name, 'name') : null,
    password_hash: (hash as string | null | undefined) ?? null,
    roles: JSON.stringify(roles),
    disabled_at: parseTime(record.disabled_at, 'disabled_at', null),
    created_at: parseTime(record.created_at, 'created_at', now) ?? now,
    updated_at: parseTime(record.updated_at, 'updated_at', now) ?? now,
  };
}

/** Reads one line of an export (or a hand-written one); throws an Error naming the field that is wrong. */
export function parseUserLine(line: string, now: number): ParsedUserLine {
  const record = JSON.parse(line) as unknown;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new Error('not a JSON object');
  }
  const fields = record as Record<string, unknown>;
  return { user: parseUser(fields, now), mfa: parseMfa(fields.mfa), lock: parseLock(fields.lock) };
}
