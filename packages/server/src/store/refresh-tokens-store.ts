import type { Kysely } from 'kysely';
import type { Database, RefreshTokenTable } from './schema.js';

export type RefreshTokenRow = RefreshTokenTable;

export async function insertRefreshToken(db: Kysely<Database>, row: RefreshTokenRow): Promise<void> {
  await db.insertInto('refresh_tokens').values(row).execute();
}

export async function findRefreshTokenByHash(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export async function findRefreshTokenById(
  db: Kysely<Database>,
  id: string,
): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export type RotationClaim = { claimed: true } | { claimed: false; current: RefreshTokenRow };

/**
 * Marks `tokenId` used and stores its successor, atomically: of any number of concurrent callers exactly one
 * claims it (the conditional UPDATE serialises them on the row); the others get the row as it now stands.
 */
export async function claimRefreshRotation(
  db: Kysely<Database>,
  tokenId: string,
  now: number,
  successor: RefreshTokenRow,
): Promise<RotationClaim> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('refresh_tokens')
      .set({ used_at: now, successor_id: successor.id })
      .where('id', '=', tokenId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) {
      await trx.insertInto('refresh_tokens').values(successor).execute();
      await trx
        .updateTable('sessions')
        .set({ last_used_at: now })
        .where('id', '=', successor.session_id)
        .execute();
      return { claimed: true };
    }
    const current = await trx
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('id', '=', tokenId)
      .executeTakeFirstOrThrow();
    return { claimed: false, current };
  });
}
