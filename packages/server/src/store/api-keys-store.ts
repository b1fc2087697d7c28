import type { Kysely } from 'kysely';
import type { ClientRow } from './clients-store.js';
import type { ApiKeyTable, Database } from './schema.js';

export type ApiKeyRow = ApiKeyTable;

export async function insertApiKey(db: Kysely<Database>, row: ApiKeyRow): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
}

export async function findApiKeyById(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listClientApiKeys(db: Kysely<Database>, clientId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('client_id', '=', clientId)
    .orderBy('created_at', 'asc')
    .execute();
}

/** The key with this hash and the client that owns it: the one read a key verification makes. */
export async function findApiKeyByHash(
  db: Kysely<Database>,
  keyHash: string,
): Promise<{ key: ApiKeyRow; client: ClientRow } | undefined> {
  const key = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  if (!key) return undefined;
  const client = await db
    .selectFrom('clients')
    .selectAll()
    .where('id', '=', key.client_id)
    .executeTakeFirstOrThrow();
  return { key, client };
}

/** Inserts the successor and turns the old key into a tombstone that stops working at `graceEndsAt`, atomically. */
export async function rotateApiKey(
  db: Kysely<Database>,
  oldKeyId: string,
  successor: ApiKeyRow,
  rotatedAt: number,
  graceEndsAt: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('api_keys')
      .set({
        revoked_at: graceEndsAt,
        revoked_reason: 'rotated',
        rotated_at: rotatedAt,
        successor_id: successor.id,
        successor_preview: successor.preview,
      })
      .where('id', '=', oldKeyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await trx.insertInto('api_keys').values(successor).execute();
    return true;
  });
}

export async function revokeApiKey(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: now, revoked_reason: 'revoked' })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Writes a batch of last-use times; a time never moves backwards (another instance may have a later one).
 * Rows are updated in id order: two instances writing overlapping batches then lock them in the same order
 * and one waits for the other, instead of each holding a row the other needs (a deadlock).
 */
export async function recordApiKeyUse(db: Kysely<Database>, uses: Map<string, number>): Promise<void> {
  if (uses.size === 0) return;
  const inLockOrder = [...uses].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await db.transaction().execute(async (trx) => {
    for (const [id, at] of inLockOrder) {
      await trx
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  });
}
