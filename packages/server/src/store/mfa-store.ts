import type { Kysely } from 'kysely';
import { insertIfAbsent } from './dialect.js';
import type { Database, MfaBackupCodeTable, MfaChallengeTable, MfaTotpTable } from './schema.js';

export type MfaTotpRow = MfaTotpTable;
export type MfaBackupCodeRow = MfaBackupCodeTable;
export type MfaChallengeRow = MfaChallengeTable;

export async function findTotp(db: Kysely<Database>, userId: string): Promise<MfaTotpRow | undefined> {
  return db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/**
 * Stores a new, unconfirmed secret for the user, replacing a pending one; false (and nothing written) when the
 * user's authenticator is already confirmed — a confirmed secret is only ever removed by `disableMfa`.
 */
export async function savePendingTotp(db: Kysely<Database>, row: MfaTotpRow): Promise<boolean> {
  if (await insertIfAbsent(db, db.insertInto('mfa_totp').values(row))) return true;
  const { user_id: userId, ...fields } = row;
  const replaced = await db
    .updateTable('mfa_totp')
    .set(fields)
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  return Number(replaced.numUpdatedRows) === 1;
}

/**
 * Confirms the pending secret `secretSealed` with the code of time step `step`, turns MFA on for the user and
 * stores the backup codes, in one transaction. False (nothing written) when the pending secret changed
 * meanwhile, is already confirmed, or `step` is not after the last one accepted.
 */
export async function confirmTotp(
  db: Kysely<Database>,
  input: { userId: string; secretSealed: string; step: number; now: number; backupCodes: MfaBackupCodeRow[] },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('mfa_totp')
      .set({ confirmed_at: input.now, last_step: input.step })
      .where('user_id', '=', input.userId)
      .where('secret_sealed', '=', input.secretSealed)
      .where('confirmed_at', 'is', null)
      .where('last_step', '<', input.step)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return false;
    await trx
      .updateTable('users')
      .set({ mfa_enabled_at: input.now, updated_at: input.now })
      .where('id', '=', input.userId)
      .execute();
    await trx.deleteFrom('mfa_backup_codes').where('user_id', '=', input.userId).execute();
    if (input.backupCodes.length)
      await trx.insertInto('mfa_backup_codes').values(input.backupCodes).execute();
    return true;
  });
}

/**
 * Accepts time step `step` for the user's confirmed authenticator, atomically: the conditional UPDATE lets one
 * use of a step through, so two concurrent uses of one code cannot both pass, and no older step passes after it.
 */
export async function claimTotpStep(db: Kysely<Database>, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ last_step: step })
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where('last_step', '<', step)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Marks one unused backup code used, atomically: of concurrent uses of a code exactly one gets true. */
export async function consumeBackupCode(
  db: Kysely<Database>,
  userId: string,
  codeHash: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_backup_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findBackupCode(
  db: Kysely<Database>,
  userId: string,
  codeHash: string,
): Promise<MfaBackupCodeRow | undefined> {
  return db
    .selectFrom('mfa_backup_codes')
    .selectAll()
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .executeTakeFirst();
}

export async function countUnusedBackupCodes(db: Kysely<Database>, userId: string): Promise<number> {
  const row = await db
    .selectFrom('mfa_backup_codes')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Replaces every backup code of the user (used or not) with `rows`, in one transaction. */
/**
 * Replaces the user's backup codes and marks the account changed, in one transaction: an export written
 * before the new codes is then older, and `users import` will not bring the old codes back unasked.
 */
export async function replaceBackupCodes(
  db: Kysely<Database>,
  userId: string,
  rows: MfaBackupCodeRow[],
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    if (rows.length) await trx.insertInto('mfa_backup_codes').values(rows).execute();
    await trx.updateTable('users').set({ updated_at: now }).where('id', '=', userId).execute();
  });
}

/** Removes every second factor of the user and its pending sign-in steps, and turns MFA off, in one transaction. */
export async function disableMfa(db: Kysely<Database>, userId: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
    await trx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    await trx.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
    await trx
      .updateTable('users')
      .set({ mfa_enabled_at: null, updated_at: now })
      .where('id', '=', userId)
      .execute();
  });
}

/** Stores a sign-in's pending second step, dropping the user's earlier ones that expired or were used. */
export async function insertMfaChallenge(db: Kysely<Database>, row: MfaChallengeRow): Promise<void> {
  await db
    .deleteFrom('mfa_challenges')
    .where('user_id', '=', row.user_id)
    .where((eb) => eb.or([eb('expires_at', '<=', row.created_at), eb('used_at', 'is not', null)]))
    .execute();
  await db.insertInto('mfa_challenges').values(row).execute();
}

export async function findMfaChallenge(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<MfaChallengeRow | undefined> {
  return db.selectFrom('mfa_challenges').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export type SecondFactorProof = { kind: 'totp'; step: number } | { kind: 'backup_code'; codeHash: string };

/** Which single-use part of a sign-in's second step was already taken, when completing it fails. */
export type ChallengeCompletion = 'completed' | 'challenge_taken' | 'proof_taken';

class Taken extends Error {
  constructor(readonly what: Exclude<ChallengeCompletion, 'completed'>) {
    super(what);
  }
}

/**
 * Completes a sign-in's second step: uses the challenge (once, before it expires) and the code (a TOTP step or
 * a backup code, once), both or neither, in one transaction — a code is never spent on a challenge that a
 * concurrent request already completed, and a challenge is never spent on a code that was already used.
 */
export async function completeMfaChallenge(
  db: Kysely<Database>,
  input: { tokenHash: string; userId: string; now: number; proof: SecondFactorProof },
): Promise<ChallengeCompletion> {
  return db
    .transaction()
    .execute(async (trx) => {
      const challenge = await trx
        .updateTable('mfa_challenges')
        .set({ used_at: input.now })
        .where('token_hash', '=', input.tokenHash)
        .where('user_id', '=', input.userId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', input.now)
        .executeTakeFirst();
      if (Number(challenge.numUpdatedRows) !== 1) throw new Taken('challenge_taken');
      const proved =
        input.proof.kind === 'totp'
          ? await claimTotpStep(trx, input.userId, input.proof.step)
          : await consumeBackupCode(trx, input.userId, input.proof.codeHash, input.now);
      if (!proved) throw new Taken('proof_taken');
      return 'completed' as const;
    })
    .catch((error: unknown) => {
      if (error instanceof Taken) return error.what;
      throw error;
    });
}

export async function listBackupCodes(db: Kysely<Database>, userId: string): Promise<MfaBackupCodeRow[]> {
  return db.selectFrom('mfa_backup_codes').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

/** A user's whole second factor as an import writes it: the confirmed authenticator and its backup codes. */
export interface SecondFactorRows {
  totp: MfaTotpRow & { confirmed_at: number };
  backupCodes: MfaBackupCodeRow[];
}

/**
 * Replaces the user's second factor with `factor` (null: none) and sets `users.mfa_enabled_at` to match, in the
 * caller's transaction. Pending sign-in steps go too: they were started against the factor being replaced.
 */
export async function replaceSecondFactor(
  db: Kysely<Database>,
  userId: string,
  factor: SecondFactorRows | null,
): Promise<void> {
  await db.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  await db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
  await db.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
  if (factor) {
    await db.insertInto('mfa_totp').values(factor.totp).execute();
    if (factor.backupCodes.length)
      await db.insertInto('mfa_backup_codes').values(factor.backupCodes).execute();
  }
  await db
    .updateTable('users')
    .set({ mfa_enabled_at: factor?.totp.confirmed_at ?? null })
    .where('id', '=', userId)
    .execute();
}
