import type { Kysely } from 'kysely';
import { lockInstallation } from './installation-store.js';
import type { Database, SigningKeyTable } from './schema.js';

export type SigningKeyRow = SigningKeyTable;

export async function listSigningKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'asc').execute();
}

/** Inserts the first active and next keys unless another process already did; returns whether ours were used. */
export async function initializeSigningKeys(
  db: Kysely<Database>,
  active: SigningKeyRow,
  next: SigningKeyRow,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockInstallation(trx);
    const existing = await trx
      .selectFrom('signing_keys')
      .select('kid')
      .where('state', '=', 'active')
      .executeTakeFirst();
    if (existing) return false;
    await trx.insertInto('signing_keys').values([active, next]).execute();
    return true;
  });
}

/** The next key was published after the latest time the caller accepts: nothing was rotated. */
export interface NextKeyTooNew {
  tooNew: { kid: string; createdAt: number };
}

/**
 * One transaction: active → retired (verifying until `verifyUntil`), next → active, a new next key — unless
 * the next key was created after `nextCreatedBy`. A crash at any point leaves exactly one active key; under
 * the lock, two rotations at once cannot both pass the check.
 */
export async function rotateSigningKeys(
  db: Kysely<Database>,
  now: number,
  verifyUntil: number,
  newNext: SigningKeyRow,
  nextCreatedBy: number,
): Promise<{ retired: string; activated: string } | NextKeyTooNew> {
  return db.transaction().execute(async (trx) => {
    await lockInstallation(trx);
    const current = await trx
      .selectFrom('signing_keys')
      .select(['kid', 'state', 'created_at'])
      .where('state', 'in', ['active', 'next'])
      .execute();
    const active = current.find((k) => k.state === 'active');
    const next = current.find((k) => k.state === 'next');
    if (!active || !next)
      throw new Error('The keyring has no active or no next key; start the server once to create them');
    if (next.created_at > nextCreatedBy) return { tooNew: { kid: next.kid, createdAt: next.created_at } };
    await trx
      .updateTable('signing_keys')
      .set({ state: 'retired', retired_at: now, verify_until: verifyUntil })
      .where('kid', '=', active.kid)
      .execute();
    await trx
      .updateTable('signing_keys')
      .set({ state: 'active', activated_at: now })
      .where('kid', '=', next.kid)
      .execute();
    await trx.insertInto('signing_keys').values(newNext).execute();
    return { retired: active.kid, activated: next.kid };
  });
}
