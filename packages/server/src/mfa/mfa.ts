import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { CheckTrail } from '../checks/check-trail.js';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { decided } from '../events/decided.js';
import type { AuthEvent, EventContext, Events } from '../events/events.js';
import { open, seal } from '../secrets/sealed-box.js';
import {
  claimTotpStep,
  completeMfaChallenge,
  confirmTotp,
  consumeBackupCode,
  countUnusedBackupCodes,
  disableMfa,
  findBackupCode,
  findMfaChallenge,
  findTotp,
  insertMfaChallenge,
  type MfaBackupCodeRow,
  replaceBackupCodes,
  type SecondFactorProof,
  savePendingTotp,
} from '../store/mfa-store.js';
import type { Database } from '../store/schema.js';
import type { LoginThrottle } from '../users/login-throttle.js';
import type { User } from '../users/user-view.js';
import type { CachedUsers, Users } from '../users/users.js';
import { hashBackupCode, newBackupCodes, normalizeBackupCode } from './backup-codes.js';
import { hashMfaToken, isMfaTokenShaped, newMfaToken } from './mfa-token.js';
import { isTotpShaped, matchTotp, newTotpSecret, totpUri } from './totp.js';

/** The signed-in user managing their own second factor, and where the request came from. */
export interface MfaRequester {
  userId: string;
  sessionId: string;
  context: EventContext;
}

export interface Enrollment {
  /** Base32, for typing into the app by hand. */
  secret: string;
  otpauth_url: string;
}

export interface BackupCodes {
  backup_codes: string[];
}

/** What a right password gets when the account has a second factor: a token for the second step. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

export type SecondFactorMethod = SecondFactorProof['kind'];

export interface SecondFactorPassed {
  user: User;
  method: SecondFactorMethod;
  /** After a backup code: how many are left, so the event shows a user running out. */
  backupCodesLeft?: number;
}

/**
 * A second factor for people: an authenticator app (TOTP, RFC 6238) with ten single-use backup codes. Every
 * code an attacker could guess (sign-in, disable, regenerate) counts on the account's login throttle, so
 * guessing codes locks the account as guessing passwords does, and a locked account's right code is refused
 * exactly like a wrong one.
 */
export interface Mfa {
  /** Starts (or restarts) setting up an authenticator app; MFA is on only once `confirm` succeeds. */
  enroll(who: MfaRequester): Promise<Enrollment>;
  /** Turns MFA on with a code from the app just set up; answers the backup codes, shown this once. */
  confirm(who: MfaRequester, code: string): Promise<BackupCodes>;
  /** Turns MFA off; needs a current TOTP code or a backup code. */
  disable(who: MfaRequester, code: string): Promise<void>;
  /** Replaces every backup code with ten new ones; needs a current TOTP code. */
  regenerateBackupCodes(who: MfaRequester, code: string): Promise<BackupCodes>;
  /** The second step of a sign-in whose password was right. */
  challenge(user: User): Promise<MfaChallenge>;
  /** The mfa_token decision `complete` makes before the code is checked, recording each check on `trail`. */
  judgeToken(mfaToken: string, trail?: CheckTrail): Promise<unknown>;
  /**
   * Completes a second step with a TOTP or backup code: both the token and the code are good once. `identify`
   * hears whom the step is for as soon as it is known, so a refusal is recorded against that user.
   */
  complete(
    mfaToken: string,
    code: string,
    identify?: (subject: Partial<AuthEvent>) => void,
  ): Promise<SecondFactorPassed>;
}

export interface MfaOptions {
  db: Kysely<Database>;
  clock: Clock;
  events: Events;
  users: Pick<Users, 'get' | 'find'>;
  throttle: LoginThrottle;
  views: CachedUsers;
  /** The master key's `totp` subkey: seals TOTP secrets. */
  totpKey: Uint8Array;
  /** The master key's `backup-codes` subkey: keys the stored HMAC of each backup code. */
  backupCodeKey: Uint8Array;
  /** The issuer an authenticator app shows next to the account. */
  issuer: string;
  challengeTtlSeconds?: number;
}

/** RFC 8176 values for a session whose sign-in passed a password and a one-time code. */
export const MFA_AMR = ['pwd', 'otp', 'mfa'];

const CHALLENGE_TTL_SECONDS = 5 * 60;

/** The context a TOTP secret is sealed under: a sealed secret copied to another user's row does not open. */
export const totpSealContext = (userId: string) => `totp:${userId}`;

/** Every refused code looks the same to the caller (no detail), whatever really happened. */
const wrongCode = (internal: string) => new GatehouseError('mfa_invalid', { internal });

const mfaTokenInvalid = (detail: string) => new GatehouseError('mfa_token_invalid', { detail });

export function createMfa(options: MfaOptions): Mfa {
  const { db, clock, events, users, throttle, views, totpKey, backupCodeKey } = options;
  const challengeTtl = options.challengeTtlSeconds ?? CHALLENGE_TTL_SECONDS;

  function requireEnabled(user: User): void {
    if (!user.mfa_enabled) {
      throw new GatehouseError('mfa_not_enrolled', { detail: 'This account has no confirmed second factor' });
    }
  }

  /** A failed code: counted on the account's throttle like a wrong password, then refused. */
  async function refuseCode(user: User, internal: string): Promise<never> {
    await throttle.recordFailure(user.email);
    throw wrongCode(internal);
  }

  /** What a typed code proves against the user's confirmed factors, or why it proves nothing; spends nothing. */
  async function judge(
    user: User,
    code: string,
    accepts: { backupCodes: boolean },
  ): Promise<SecondFactorProof | { wrong: string }> {
    const typed = code.replace(/\s/g, '');
    if (isTotpShaped(typed)) {
      const totp = await findTotp(db, user.id);
      if (!totp || totp.confirmed_at === null) return { wrong: 'no confirmed authenticator app' };
      const step = matchTotp(open(totpKey, totp.secret_sealed, totpSealContext(user.id)), typed, clock.now());
      if (step === null) return { wrong: 'wrong TOTP code' };
      if (step <= totp.last_step) return { wrong: 'TOTP code already used' };
      return { kind: 'totp', step };
    }
    const backup = accepts.backupCodes ? normalizeBackupCode(code) : null;
    if (!backup) {
      return {
        wrong: accepts.backupCodes
          ? 'neither a TOTP code nor a backup code'
          : 'not a TOTP code (backup codes are not accepted here)',
      };
    }
    const codeHash = hashBackupCode(backupCodeKey, user.id, backup);
    const found = await findBackupCode(db, user.id, codeHash);
    if (!found) return { wrong: 'no such backup code' };
    if (found.used_at !== null) return { wrong: `backup code already used at ${toIso(found.used_at)}` };
    return { kind: 'backup_code', codeHash };
  }

  /**
   * Checks a code without spending it yet (the caller spends it atomically). A locked account is refused
   * exactly like a wrong code, its right code included; as with passwords, every code tried while locked
   * counts, so guessing on only lengthens the lock.
   */
  async function proofOf(
    user: User,
    code: string,
    accepts: { backupCodes: boolean },
  ): Promise<SecondFactorProof> {
    const lockedUntil = await throttle.lockedUntil(user.email);
    const verdict = await judge(user, code, accepts);
    if (lockedUntil) {
      // Counted right or wrong: were the right code spared the write, its timing would reveal it.
      await throttle.recordFailure(user.email);
      throw new GatehouseError('account_locked', {
        publicCode: 'mfa_invalid',
        internal: `locked until ${toIso(lockedUntil)}`,
      });
    }
    if ('wrong' in verdict) return refuseCode(user, verdict.wrong);
    return verdict;
  }

  /** Why a proof could not be spent: for the event, never for the caller. */
  async function whyTaken(userId: string, proof: SecondFactorProof): Promise<string> {
    if (proof.kind === 'totp') return 'TOTP code already used';
    const found = await findBackupCode(db, userId, proof.codeHash);
    return found?.used_at != null
      ? `backup code already used at ${toIso(found.used_at)}`
      : 'no such backup code';
  }

  /** Spends a proof outside a sign-in (disable, regenerate): once, atomically. */
  async function spend(user: User, proof: SecondFactorProof): Promise<void> {
    const spent =
      proof.kind === 'totp'
        ? await claimTotpStep(db, user.id, proof.step)
        : await consumeBackupCode(db, user.id, proof.codeHash, clock.now());
    if (!spent) await refuseCode(user, await whyTaken(user.id, proof));
  }

  function backupCodeRows(userId: string, codes: string[], now: number): MfaBackupCodeRow[] {
    return codes.map((code) => ({
      id: uuidv7(),
      user_id: userId,
      code_hash: hashBackupCode(backupCodeKey, userId, normalizeBackupCode(code)!),
      created_at: now,
      used_at: null,
    }));
  }

  const managed = <T>(
    type: string,
    who: MfaRequester,
    work: () => Promise<T>,
    detail?: (result: T) => object,
  ) =>
    decided(
      events,
      { type, context: who.context, userId: who.userId, sessionId: who.sessionId },
      work,
      (result) => (detail ? { detail: { ...detail(result) } } : {}),
    );

  /**
   * The mfa_token decision, for completing a sign-in and for the doctor: its form, the sign-in step it
   * names, whether that step was used or has expired, and the account behind it. `identify` hears whose
   * step it is as soon as that is known.
   */
  async function judgeMfaToken(
    mfaToken: string,
    identify: (subject: Partial<AuthEvent>) => void,
    trail?: CheckTrail,
  ): Promise<{ user: User; tokenHash: string; now: number }> {
    const refuse = (check: string, detail: string): never => {
      trail?.fail(check, detail);
      throw mfaTokenInvalid(detail);
    };
    if (!isMfaTokenShaped(mfaToken)) refuse('structure', 'Not an mfa_token (gmt_…) from POST /v1/auth/login');
    const tokenHash = hashMfaToken(mfaToken);
    const challenge = await findMfaChallenge(db, tokenHash);
    if (!challenge) return refuse('lookup', 'No sign-in step with this mfa_token was started here');
    trail?.pass(
      'lookup',
      `The second step of a sign-in of user ${challenge.user_id}, started ${toIso(challenge.created_at)}`,
    );
    identify({ userId: challenge.user_id });
    const now = clock.now();
    if (challenge.used_at !== null)
      refuse('use', `This mfa_token was already used, at ${toIso(challenge.used_at)}`);
    trail?.pass('use', 'Not used yet');
    if (challenge.expires_at <= now)
      refuse('exp', `This mfa_token expired at ${toIso(challenge.expires_at)}`);
    trail?.pass('exp', `Expires at ${toIso(challenge.expires_at)}`);
    const user = await users.find(challenge.user_id);
    if (!user) return refuse('subject', 'The account this sign-in was for no longer exists');
    if (user.disabled) {
      trail?.fail('account', 'Disabled');
      throw new GatehouseError('user_disabled');
    }
    trail?.pass('account', `${user.email}: enabled`);
    return { user, tokenHash, now };
  }
  return {
    enroll: (who) =>
      managed('mfa.enroll', who, async () => {
        const user = await users.get(who.userId);
        if (user.mfa_enabled) throw new GatehouseError('mfa_already_enabled');
        const secret = newTotpSecret();
        const saved = await savePendingTotp(db, {
          user_id: user.id,
          secret_sealed: seal(totpKey, secret, totpSealContext(user.id)),
          created_at: clock.now(),
          confirmed_at: null,
          last_step: 0,
        });
        if (!saved) throw new GatehouseError('mfa_already_enabled');
        return { secret, otpauth_url: totpUri(secret, user.email, options.issuer) };
      }),

    confirm: (who, code) =>
      managed(
        'mfa.confirm',
        who,
        async () => {
          const user = await users.get(who.userId);
          if (user.mfa_enabled) throw new GatehouseError('mfa_already_enabled');
          const totp = await findTotp(db, user.id);
          if (!totp || totp.confirmed_at !== null) {
            throw new GatehouseError('mfa_not_enrolled', { detail: 'No authenticator app is being set up' });
          }
          // Not counted on the throttle: whoever confirms was just shown the secret, there is nothing to guess.
          const now = clock.now();
          const step = matchTotp(
            open(totpKey, totp.secret_sealed, totpSealContext(user.id)),
            code.replace(/\s/g, ''),
            now,
          );
          if (step === null) throw wrongCode('wrong TOTP code while confirming the authenticator app');
          const codes = newBackupCodes();
          const confirmed = await confirmTotp(db, {
            userId: user.id,
            secretSealed: totp.secret_sealed,
            step,
            now,
            backupCodes: backupCodeRows(user.id, codes, now),
          });
          if (!confirmed) throw wrongCode('the enrollment changed meanwhile, or the code was already used');
          views.forgetUser(user.id);
          return { backup_codes: codes };
        },
        (result) => ({ backup_codes: result.backup_codes.length }),
      ),

    disable: (who, code) =>
      managed('mfa.disable', who, async () => {
        const user = await users.get(who.userId);
        requireEnabled(user);
        await spend(user, await proofOf(user, code, { backupCodes: true }));
        await disableMfa(db, user.id, clock.now());
        views.forgetUser(user.id);
      }),

    regenerateBackupCodes: (who, code) =>
      managed(
        'mfa.backup_codes',
        who,
        async () => {
          const user = await users.get(who.userId);
          requireEnabled(user);
          await spend(user, await proofOf(user, code, { backupCodes: false }));
          const codes = newBackupCodes();
          const now = clock.now();
          await replaceBackupCodes(db, user.id, backupCodeRows(user.id, codes, now), now);
          return { backup_codes: codes };
        },
        (result) => ({ backup_codes: result.backup_codes.length }),
      ),

    async challenge(user) {
      const token = newMfaToken();
      const now = clock.now();
      await insertMfaChallenge(db, {
        token_hash: hashMfaToken(token),
        user_id: user.id,
        created_at: now,
        expires_at: now + challengeTtl * 1000,
        used_at: null,
      });
      return { mfa_required: true, mfa_token: token, expires_in: challengeTtl };
    },

    judgeToken: (mfaToken, trail) => judgeMfaToken(mfaToken, () => {}, trail),

    async complete(mfaToken, code, identify = () => {}) {
      const { user, tokenHash, now } = await judgeMfaToken(mfaToken, identify);
      const proof = await proofOf(user, code, { backupCodes: true });
      const outcome = await completeMfaChallenge(db, { tokenHash, userId: user.id, now, proof });
      if (outcome === 'challenge_taken') {
        throw mfaTokenInvalid('This mfa_token was used by another request at the same time');
      }
      if (outcome === 'proof_taken') await refuseCode(user, await whyTaken(user.id, proof));
      await throttle.recordSuccess(user.email);
      return {
        user,
        method: proof.kind,
        ...(proof.kind === 'backup_code'
          ? { backupCodesLeft: await countUnusedBackupCodes(db, user.id) }
          : {}),
      };
    },
  };
}
