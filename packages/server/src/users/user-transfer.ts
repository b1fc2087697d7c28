import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Database } from '../store/schema.js';
import { importUsers, streamUsers, type UserRow } from '../store/users-store.js';
import { parseEmail } from './email.js';
import { isSupportedHash } from './passwords.js';
import { KNOWN_ROLES } from './users.js';

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
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function* exportUsers(db: Kysely<Database>): AsyncGenerator<UserRecord> {
  for await (const row of streamUsers(db)) {
    yield {
      id: row.id,
      email: row.email,
      name: row.name,
      password_hash: row.password_hash,
      roles: JSON.parse(row.roles) as string[],
      disabled_at: row.disabled_at === null ? null : new Date(row.disabled_at).toISOString(),
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
    };
  }
}

function parseTime(value: unknown, field: string, fallback: number | null): number | null {
  if (value === undefined || value === null) return fallback;
  const ms = typeof value === 'number' ? value : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw new Error(`${field} is not a time`);
  return ms;
}

function toRow(record: Record<string, unknown>, now: number): UserRow {
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
    email: parseEmail(record.email),
    name: typeof record.name === 'string' ? record.name : null,
    password_hash: (hash as string | null | undefined) ?? null,
    roles: JSON.stringify(roles),
    disabled_at: parseTime(record.disabled_at, 'disabled_at', null),
    created_at: parseTime(record.created_at, 'created_at', now) ?? now,
    updated_at: parseTime(record.updated_at, 'updated_at', now) ?? now,
  };
}

/** Parses every line first, so a bad line names itself and nothing is written; then imports in one transaction. */
export async function importUserLines(db: Kysely<Database>, clock: Clock, lines: string[]): Promise<number> {
  const rows: UserRow[] = [];
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    try {
      rows.push(toRow(JSON.parse(line) as Record<string, unknown>, clock.now()));
    } catch (error) {
      const reason =
        error instanceof GatehouseError ? (error.detail ?? error.code) : (error as Error).message;
      throw new GatehouseError('validation_failed', { detail: `line ${index + 1}: ${reason}` });
    }
  });
  const result = await importUsers(db, rows);
  if (result.conflict) throw new GatehouseError('validation_failed', { detail: result.conflict });
  return rows.length;
}

/** `gatehouse users export` and `import`: users moved between databases with their ids and password hashes. */
export interface UserTransfer {
  exportUsers(): AsyncGenerator<UserRecord>;
  /** Imports JSON lines written by `exportUsers`; answers how many users were imported. */
  importLines(lines: string[]): Promise<number>;
}

export function createUserTransfer(db: Kysely<Database>, clock: Clock): UserTransfer {
  return {
    exportUsers: () => exportUsers(db),
    importLines: (lines) => importUserLines(db, clock, lines),
  };
}
