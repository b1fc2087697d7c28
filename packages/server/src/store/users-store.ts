import type { Kysely, Updateable } from 'kysely';
import { insertIfAbsent, isMysql } from './dialect.js';
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

/**
 * Imports users as exported, keeping their ids, in one transaction: all lines land or none. A row with the
 * same id is replaced; false (and nothing written) when an email belongs to another id.
 */
export async function importUsers(db: Kysely<Database>, rows: UserRow[]): Promise<{ conflict?: string }> {
  return db
    .transaction()
    .execute(async (trx) => {
      for (const row of rows) {
        const holder = await trx
          .selectFrom('users')
          .select('id')
          .where('email', '=', row.email)
          .executeTakeFirst();
        if (holder && holder.id !== row.id) {
          throw new ImportConflict(`${row.email} already belongs to user ${holder.id}, not ${row.id}`);
        }
        const { id, ...fields } = row;
        const insert = trx.insertInto('users').values(row);
        await (isMysql(trx)
          ? insert.onDuplicateKeyUpdate(fields)
          : insert.onConflict((oc) => oc.column('id').doUpdateSet(fields))
        ).execute();
        await trx.deleteFrom('user_tombstones').where('id', '=', id).execute();
      }
      return {};
    })
    .catch((error: unknown) => {
      if (error instanceof ImportConflict) return { conflict: error.message };
      throw error;
    });
}

class ImportConflict extends Error {}

export async function* streamUsers(db: Kysely<Database>, pageSize = 500): AsyncGenerator<UserRow> {
  let after: string | undefined;
  for (;;) {
    const page = await listUsers(db, { limit: pageSize, ...(after ? { after } : {}) });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]?.id;
  }
}
