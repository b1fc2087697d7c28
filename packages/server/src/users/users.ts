import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { type Clock, toIso } from '../clock.js';
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

/** The one list of roles a user may hold; route schemas and imports take theirs from here. */
export const KNOWN_ROLES = ['admin'] as const;

export interface NewUser {
  email: string;
  password: string;
  name?: string | null;
  roles?: readonly string[];
}

export interface Users {
  /**
   * Creates an account. An administrator's creation (an actor given) is audited as `user.create`; a sign-up
   * is recorded by the sign-in service as its own decision.
   */
  create(input: NewUser, actor?: Actor): Promise<User>;
  /** Checks an email and password; every failure looks the same to the caller and costs the same time. */
  verifyCredentials(email: string, password: string): Promise<User>;
  changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void>;
  get(id: string): Promise<User>;
  /** The user with this id, or undefined when there is none. */
  find(id: string): Promise<User | undefined>;
  /** The user with this email (in any spelling), or undefined when there is none. */
  findByEmail(email: string): Promise<User | undefined>;
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
  /**
   * Grants the admin role to the account with this email, or creates it as an admin when absent (only then is
   * the password needed, and used). Both are audited.
   */
  ensureAdmin(
    email: string,
    password: string | undefined,
    actor?: Actor,
  ): Promise<{ user: User; created: boolean }>;
  /**
   * Lifts a lockout: forgets the account's failed sign-ins and codes. Answers the lock that was in force, if
   * any; audited as `user.unlock`.
   */
  unlock(id: string, actor?: Actor): Promise<{ user: User; lockedUntil: number | null }>;
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

  async function create(input: NewUser, actor?: Actor) {
    const email = parseEmail(input.email);
    const roles = checkRoles(input.roles ?? []);
    const password = normalizePassword(input.password);
    checkPasswordPolicy(password);
    const now = clock.now();
    const row: UserRow = {
      id: uuidv7(),
      email,
      name: parseName(input.name),
      password_hash: await passwords.hash(password),
      roles: JSON.stringify(roles),
      disabled_at: null,
      created_at: now,
      updated_at: now,
    };
    if (!(await insertUser(db, row))) throw new GatehouseError('email_taken');
    // Failures against this address before it existed must not lock out its new owner.
    await throttle.recordSuccess(email);
    if (actor) events.audit('user.create', actor, { userId: row.id, detail: { roles } });
    return toUser(row);
  }

  async function grantAdmin(row: UserRow, actor: Actor): Promise<User> {
    const roles = [...new Set([...parseRoles(row.roles), 'admin'])];
    const updated = { ...row, roles: JSON.stringify(roles), updated_at: clock.now() };
    await updateUser(db, row.id, { roles: updated.roles, updated_at: updated.updated_at });
    views.forgetUser(row.id);
    events.audit('user.roles', actor, { userId: row.id, detail: { roles } });
    return toUser(updated);
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

    async findByEmail(email) {
      const row = await findUserByEmail(db, parseEmail(email));
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
      const roles = patch.roles ? checkRoles(patch.roles) : parseRoles(row.roles);
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

    async ensureAdmin(rawEmail, password, actor = INTERNAL_ACTOR) {
      const email = parseEmail(rawEmail);
      const existing = await findUserByEmail(db, email);
      if (existing) return { user: await grantAdmin(existing, actor), created: false };
      if (password === undefined) {
        throw new GatehouseError('validation_failed', {
          detail: `password: ${email} has no account yet, and a new account needs a password`,
        });
      }
      return { user: await create({ email, password, roles: ['admin'] }, actor), created: true };
    },

    async unlock(id, actor = INTERNAL_ACTOR) {
      const row = await requireUser(id);
      const lockedUntil = (await throttle.lockedUntil(row.email)) ?? null;
      await throttle.clear(row.email);
      events.audit('user.unlock', actor, {
        userId: id,
        detail: { locked_until: lockedUntil === null ? null : toIso(lockedUntil) },
      });
      return { user: toUser(row), lockedUntil };
    },

    async wasDeleted(id) {
      const tombstone = await findUserTombstone(db, id);
      return tombstone ? { deletedAt: tombstone.deleted_at } : undefined;
    },
  };
}

/** The roles without repeats; an unknown one is refused, naming it. */
function checkRoles(roles: readonly string[]): string[] {
  const unique = [...new Set(roles)];
  const unknown = unique.filter((role) => !(KNOWN_ROLES as readonly string[]).includes(role));
  if (unknown.length) {
    throw new GatehouseError('validation_failed', { detail: `roles: unknown role ${unknown.join(', ')}` });
  }
  return unique;
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
