import type { Kysely, Updateable } from 'kysely';
import { insertIfAbsent } from './dialect.js';
import type { Database, UserTable, UserTombstoneTable } from './schema.js';

export type UserRow = UserTable;

/** Inserts a user; false when the email (or id) is already taken. */
export async function insertUser(db: Kysely<Database>, row: UserRow): Promise<boolean> {
  return insertIfAbsent(db, db.insertInto('users').values(row));
}

export async function findUserByEmail(db: Kysely<Database>, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findUserById(db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listUsers(
  db: Kysely<Database>,
  options: { email?: string; limit: number; after?: string },
): Promise<UserRow[]> {
  let query = db.selectFrom('users').selectAll().orderBy('id', 'asc').limit(options.limit);
  if (options.email) query = query.where('email', '=', options.email);
  if (options.after) query = query.where('id', '>', options.after);
  return query.execute();
}

export async function updateUser(
  db: Kysely<Database>,
  id: string,
  patch: Updateable<Omit<UserTable, 'id'>>,
): Promise<boolean> {
  const result = await db.updateTable('users').set(patch).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deletes the user (sessions follow by cascade) and leaves a tombstone so a stale token can say "deleted". */
export async function deleteUser(db: Kysely<Database>, tombstone: UserTombstoneTable): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('users').where('id', '=', tombstone.id).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await trx.insertInto('user_tombstones').values(tombstone).execute();
    return true;
  });
}

export async function findUserTombstone(
  db: Kysely<Database>,
  id: string,
): Promise<UserTombstoneTable | undefined> {
  return db.selectFrom('user_tombstones').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One user of an import, as the users domain planned it against the database. */
export interface UserImport {
  id: string;
  /** The row to write; absent when the row stays as it is and only what is written alongside changes. */
  row?: UserRow;
  /** The row's `updated_at` when the import was planned, or null for a new user: a row changed since is not overwritten. */
  plannedUpdatedAt: number | null;
  /** What belongs with the user and lands in the same transaction (second factor, login throttle). */
  writeAlongside?: (trx: Kysely<Database>) => Promise<void>;
}

/**
 * Imports users as planned, keeping their ids, in one transaction: all of them land or none. A conflict (an
 * email that belongs to another id, a user created or changed since the plan) writes nothing and is named.
 */
export async function importUsers(
  db: Kysely<Database>,
  imports: UserImport[],
): Promise<{ conflict?: string }> {
  return db
    .transaction()
    .execute(async (trx) => {
      for (const planned of imports) {
        if (planned.row) await writeImportedUser(trx, planned.row, planned.plannedUpdatedAt);
        await planned.writeAlongside?.(trx);
      }
      return {};
    })
    .catch((error: unknown) => {
      if (error instanceof ImportConflict) return { conflict: error.message };
      throw error;
    });
}

async function writeImportedUser(
  trx: Kysely<Database>,
  row: UserRow,
  plannedUpdatedAt: number | null,
): Promise<void> {
  const holder = await trx.selectFrom('users').select('id').where('email', '=', row.email).executeTakeFirst();
  if (holder && holder.id !== row.id) {
    throw new ImportConflict(`${row.email} already belongs to user ${holder.id}, not ${row.id}`);
  }
  if (plannedUpdatedAt === null) {
    if (!(await insertIfAbsent(trx, trx.insertInto('users').values(row)))) {
      throw new ImportConflict(`user ${row.id} was created while importing; run the import again`);
    }
    await trx.deleteFrom('user_tombstones').where('id', '=', row.id).execute();
    return;
  }
  const { id, ...fields } = row;
  const updated = await trx
    .updateTable('users')
    .set(fields)
    .where('id', '=', id)
    .where('updated_at', '=', plannedUpdatedAt)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) {
    throw new ImportConflict(`user ${id} changed while importing; run the import again`);
  }
}

class ImportConflict extends Error {}

/** Every user, a page at a time in id order. */
export async function* streamUserPages(db: Kysely<Database>, pageSize = 500): AsyncGenerator<UserRow[]> {
  let after: string | undefined;
  for (;;) {
    const page = await listUsers(db, { limit: pageSize, ...(after ? { after } : {}) });
    if (page.length) yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]?.id;
  }
}

/** How many users have a confirmed second factor, and the emails of the first `limit` of them. */
export async function findUsersWithMfa(
  db: Kysely<Database>,
  limit: number,
): Promise<{ count: number; emails: string[] }> {
  const withMfa = db.selectFrom('users').where('mfa_enabled_at', 'is not', null);
  const [counted, listed] = await Promise.all([
    withMfa.select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow(),
    withMfa.select('email').orderBy('email').limit(limit).execute(),
  ]);
  return { count: Number(counted.count), emails: listed.map((row) => row.email) };
}
