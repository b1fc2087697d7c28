import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, type Events, INTERNAL_ACTOR } from '../events/events.js';
import type { Database } from '../store/schema.js';
import {
  deleteUser,
  findUserByEmail,
  findUserById,
  findUserTombstone,
  insertUser,
  listUsers,
  type UserRow,
  updateUser,
} from '../store/users-store.js';
import { canonicalEmail, parseEmail } from './email.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkPasswordPolicy, normalizePassword, type PasswordHasher } from './passwords.js';
import { parseRoles, toUser, type User } from './user-view.js';

export const KNOWN_ROLES = ['admin'] as const;

export interface Users {
  create(input: { email: string; password: string; name?: string | null; roles?: string[] }): Promise<User>;
  /** Checks an email and password; every failure looks the same to the caller and costs the same time. */
  verifyCredentials(email: string, password: string): Promise<User>;
  changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void>;
  get(id: string): Promise<User>;
  /** The user with this id, or undefined when there is none. */
  find(id: string): Promise<User | undefined>;
  list(options: {
    email?: string;
    limit: number;
    cursor?: string;
  }): Promise<{ users: User[]; next_cursor: string | null }>;
  update(
    id: string,
    patch: { disabled?: boolean; roles?: string[]; name?: string | null },
    actor?: Actor,
  ): Promise<User>;
  remove(id: string, actor?: Actor): Promise<void>;
  /** Grants the admin role to the account with this email, creating it when absent. */
  ensureAdmin(email: string, password: string): Promise<{ user: User; created: boolean }>;
  wasDeleted(id: string): Promise<{ deletedAt: number } | undefined>;
}

/**
 * A cache holding views of users (the sessions' view cache), told to forget a user who changed: it is declared
 * here, not imported, so the users domain depends on no domain that depends on it.
 */
export interface CachedUsers {
  forgetUser(userId: string): void;
}

const lockedOut = (until: number) =>
  new GatehouseError('account_locked', {
    publicCode: 'invalid_credentials',
    internal: `locked until ${new Date(until).toISOString()}`,
  });

/** Every credential failure is the same to the caller; what really happened stays internal. */
const invalidCredentials = (internal: string) => new GatehouseError('invalid_credentials', { internal });

export function createUsers(
  db: Kysely<Database>,
  clock: Clock,
  passwords: PasswordHasher,
  views: CachedUsers,
  events: Events,
  throttle: LoginThrottle,
): Users {
  async function requireUser(id: string): Promise<UserRow> {
    const row = await findUserById(db, id);
    if (!row) throw new GatehouseError('user_not_found', { detail: `No user with id ${id}` });
    return row;
  }

  async function create(input: { email: string; password: string; name?: string | null; roles?: string[] }) {
    const email = parseEmail(input.email);
    const password = normalizePassword(input.password);
    checkPasswordPolicy(password);
    const now = clock.now();
    const row: UserRow = {
      id: uuidv7(),
      email,
      name: parseName(input.name),
      password_hash: await passwords.hash(password),
      roles: JSON.stringify(input.roles ?? []),
      disabled_at: null,
      created_at: now,
      updated_at: now,
    };
    if (!(await insertUser(db, row))) throw new GatehouseError('email_taken');
    // Failures against this address before it existed must not lock out its new owner.
    await throttle.recordSuccess(email);
    return toUser(row);
  }

  return {
    create,

    async verifyCredentials(rawEmail, rawPassword) {
      const password = normalizePassword(rawPassword);
      const email = parseEmailOrNull(rawEmail);
      const account = email ?? canonicalEmail(rawEmail);
      const lockedUntil = await throttle.lockedUntil(account);
      const row = email ? await findUserByEmail(db, email) : undefined;
      // Every path spends one password verification, so neither an unknown email nor a lock shows in the timing.
      const check = row?.password_hash
        ? await passwords.verify(row.password_hash, password)
        : await passwords.spendDecoy(password).then(() => ({ ok: false, needsRehash: false }));
      if (lockedUntil) {
        // Counted right or wrong: were the right password spared the write, its timing would reveal it.
        await throttle.recordFailure(account);
        throw lockedOut(lockedUntil);
      }
      if (!check.ok) {
        await throttle.recordFailure(account);
        throw invalidCredentials(row ? 'wrong password' : 'unknown email');
      }
      if (row!.disabled_at !== null) throw new GatehouseError('user_disabled');
      // With a second factor still to pass, only that step clears the count: otherwise entering the right
      // password again would reset the count of guessed codes, and the lock would never come.
      if (row!.mfa_enabled_at == null) await throttle.recordSuccess(account);
      if (check.needsRehash) {
        await updateUser(db, row!.id, {
          password_hash: await passwords.hash(password),
          updated_at: clock.now(),
        });
      }
      return toUser(row!);
    },

    async changePassword(userId, currentPassword, newPassword) {
      const row = await requireUser(userId);
      const lockedUntil = await throttle.lockedUntil(row.email);
      const check = row.password_hash
        ? await passwords.verify(row.password_hash, normalizePassword(currentPassword))
        : { ok: false };
      if (lockedUntil) throw lockedOut(lockedUntil);
      if (!check.ok) {
        await throttle.recordFailure(row.email);
        throw invalidCredentials('current password does not match');
      }
      await throttle.recordSuccess(row.email);
      const password = normalizePassword(newPassword);
      checkPasswordPolicy(password);
      await updateUser(db, userId, {
        password_hash: await passwords.hash(password),
        updated_at: clock.now(),
      });
      views.forgetUser(userId);
    },

    get: async (id) => toUser(await requireUser(id)),

    async find(id) {
      const row = await findUserById(db, id);
      return row && toUser(row);
    },

    async list({ email, limit, cursor }) {
      const rows = await listUsers(db, {
        limit: limit + 1,
        ...(email ? { email: parseEmail(email) } : {}),
        ...(cursor ? { after: cursor } : {}),
      });
      const page = rows.slice(0, limit);
      return {
        users: page.map(toUser),
        next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },

    async update(id, patch, actor = INTERNAL_ACTOR) {
      const row = await requireUser(id);
      const roles = patch.roles ? [...new Set(patch.roles)] : parseRoles(row.roles);
      const unknown = roles.filter((role) => !(KNOWN_ROLES as readonly string[]).includes(role));
      if (unknown.length) {
        throw new GatehouseError('validation_failed', {
          detail: `roles: unknown role ${unknown.join(', ')}`,
        });
      }
      const now = clock.now();
      const disabled_at =
        patch.disabled === undefined ? row.disabled_at : patch.disabled ? (row.disabled_at ?? now) : null;
      const name = patch.name === undefined ? row.name : parseName(patch.name);
      await updateUser(db, id, { roles: JSON.stringify(roles), disabled_at, name, updated_at: now });
      views.forgetUser(id);
      const action =
        patch.disabled === undefined
          ? patch.roles
            ? 'user.roles'
            : 'user.update'
          : patch.disabled
            ? 'user.disable'
            : 'user.enable';
      events.audit(action, actor, { userId: id, ...(patch.roles ? { detail: { roles } } : {}) });
      return toUser({ ...row, roles: JSON.stringify(roles), disabled_at, name, updated_at: now });
    },

    async remove(id, actor = INTERNAL_ACTOR) {
      if (!(await deleteUser(db, { id, deleted_at: clock.now(), deleted_by: actor.id }))) {
        throw new GatehouseError('user_not_found', { detail: `No user with id ${id}` });
      }
      views.forgetUser(id);
      events.audit('user.delete', actor, { userId: id });
    },

    async ensureAdmin(email, password) {
      const existing = await findUserByEmail(db, parseEmail(email));
      if (!existing) return { user: await create({ email, password, roles: ['admin'] }), created: true };
      const roles = [...new Set([...parseRoles(existing.roles), 'admin'])];
      await updateUser(db, existing.id, { roles: JSON.stringify(roles), updated_at: clock.now() });
      views.forgetUser(existing.id);
      return { user: toUser({ ...existing, roles: JSON.stringify(roles) }), created: false };
    },

    async wasDeleted(id) {
      const tombstone = await findUserTombstone(db, id);
      return tombstone ? { deletedAt: tombstone.deleted_at } : undefined;
    },
  };
}

function parseName(raw: string | null | undefined): string | null {
  const name = raw?.normalize('NFKC').trim();
  if (name && /\p{Cc}/u.test(name))
    throw new GatehouseError('validation_failed', { detail: 'name: control characters are not allowed' });
  return name || null;
}

function parseEmailOrNull(raw: string): string | null {
  try {
    return parseEmail(raw);
  } catch (error) {
    if (error instanceof GatehouseError) return null;
    throw error;
  }
}
