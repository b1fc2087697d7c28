import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { constantTimeEqual, hmacBase64url } from '../secrets/digest.js';
import { open, seal } from '../secrets/sealed-box.js';
import type { TransferKey } from '../secrets/transfer-key.js';
import {
  claimTotpStep,
  consumeBackupCode,
  findTotp,
  listBackupCodes,
  type MfaBackupCodeRow,
  type MfaTotpRow,
  replaceSecondFactor,
  type SecondFactorRows,
} from '../store/mfa-store.js';
import type { Database } from '../store/schema.js';
import type { SecondFactorRecord } from '../users/user-record.js';
import type { SecondFactorPlan, SecondFactorTransfer } from '../users/user-transfer.js';
import { totpSealContext } from './mfa.js';

export interface SecondFactorTransferOptions {
  db: Kysely<Database>;
  /** The master key's `totp` subkey: opens the secrets stored here, seals the ones imported. */
  totpKey: Uint8Array;
  /** The master key's `backup-codes` subkey: only its check value is used, to know whether a file's codes verify here. */
  backupCodeKey: Uint8Array;
}

/** A secret in a transfer file is bound to its user: copied to another line, it does not open. */
const transferContext = (userId: string) => `transfer:totp:${userId}`;

/**
 * Backup codes are stored as HMACs, which no key turns back into codes: they move only to an installation whose
 * `backup-codes` subkey is the same (the same master key). This value tells, and reveals nothing of the key.
 */
const KEY_CHECK_INPUT = 'gatehouse backup-codes key check';

const BACKUP_CODE_HASH = /^[A-Za-z0-9_-]{43}$/;

interface CarriedCode {
  hash: string;
  createdAt: number;
  usedAt: number | null;
}

/** A line's second factor, its secret opened: held in memory only, until it is sealed under this database's key. */
interface CarriedFactor {
  secret: string;
  enabledAt: number;
  createdAt: number;
  lastStep: number;
  codes: CarriedCode[];
  /** The codes are keyed like this installation's, so they verify here. */
  codesVerifyHere: boolean;
}

interface FactorHere {
  secret: string;
  totp: MfaTotpRow & { confirmed_at: number };
  codes: MfaBackupCodeRow[];
}

const invalid = (field: string, problem: string) =>
  new GatehouseError('validation_failed', { detail: `mfa.${field} ${problem}` });

function fieldsOf(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, 'must be an object');
  return value as Record<string, unknown>;
}

function instant(value: unknown, field: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(field, 'must be a time (ISO 8601)');
  return ms;
}

function readStep(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid('totp.last_step', 'must be a whole number of at least 0');
  }
  return value;
}

function readCodes(value: unknown): CarriedCode[] {
  if (!Array.isArray(value)) throw invalid('backup_codes.codes', 'must be a list');
  const codes = value.map((item, index) => {
    const code = fieldsOf(item, `backup_codes.codes[${index}]`);
    if (typeof code.hash !== 'string' || !BACKUP_CODE_HASH.test(code.hash)) {
      throw invalid(`backup_codes.codes[${index}].hash`, 'must be a backup code hash from `users export`');
    }
    return {
      hash: code.hash,
      createdAt: instant(code.created_at, `backup_codes.codes[${index}].created_at`),
      usedAt: code.used_at === null ? null : instant(code.used_at, `backup_codes.codes[${index}].used_at`),
    };
  });
  if (new Set(codes.map((code) => code.hash)).size !== codes.length) {
    throw invalid('backup_codes.codes', 'holds a code twice');
  }
  return codes;
}

const sameCodes = (carried: CarriedCode[], here: MfaBackupCodeRow[]) =>
  carried.length === here.length && carried.every((code) => here.some((row) => row.code_hash === code.hash));

/** Codes the line marks used that are unused here: using a code is never undone by an import. */
const newlyUsed = (carried: CarriedCode[], here: MfaBackupCodeRow[]) =>
  carried.filter(
    (code): code is CarriedCode & { usedAt: number } =>
      code.usedAt !== null && here.some((row) => row.code_hash === code.hash && row.used_at === null),
  );

export function createSecondFactorTransfer(options: SecondFactorTransferOptions): SecondFactorTransfer {
  const { db, totpKey } = options;
  const keyCheck = hmacBase64url(options.backupCodeKey, KEY_CHECK_INPUT);

  async function factorHere(userId: string): Promise<FactorHere | null> {
    const totp = await findTotp(db, userId);
    if (!totp || totp.confirmed_at === null) return null;
    return {
      secret: open(totpKey, totp.secret_sealed, totpSealContext(userId)),
      totp: { ...totp, confirmed_at: totp.confirmed_at },
      codes: await listBackupCodes(db, userId),
    };
  }

  async function openSecret(userId: string, sealed: unknown, transferKey: TransferKey | undefined) {
    if (typeof sealed !== 'string') throw invalid('totp.secret_sealed', 'is required');
    if (!transferKey) {
      throw invalid(
        'totp.secret_sealed',
        'is sealed under a transfer key: give the key file the export was made with (--transfer-key-file)',
      );
    }
    try {
      return await transferKey.open(sealed, transferContext(userId));
    } catch (error) {
      throw invalid('totp.secret_sealed', (error as Error).message);
    }
  }

  async function readRecord(
    userId: string,
    record: unknown,
    transferKey: TransferKey | undefined,
  ): Promise<CarriedFactor> {
    const fields = fieldsOf(record, 'mfa');
    const totp = fieldsOf(fields.totp, 'totp');
    const backupCodes = fieldsOf(fields.backup_codes, 'backup_codes');
    const codes = readCodes(backupCodes.codes);
    return {
      secret: await openSecret(userId, totp.secret_sealed, transferKey),
      enabledAt: instant(fields.enabled_at, 'enabled_at'),
      createdAt: instant(totp.created_at, 'totp.created_at'),
      lastStep: readStep(totp.last_step),
      codes,
      codesVerifyHere:
        typeof backupCodes.key_check === 'string' && constantTimeEqual(backupCodes.key_check, keyCheck),
    };
  }

  /** The rows of the line's factor sealed for this database; a step or a code used here stays used. */
  function rowsFor(userId: string, carried: CarriedFactor, here: FactorHere | null): SecondFactorRows {
    const stepHere = here && constantTimeEqual(here.secret, carried.secret) ? here.totp.last_step : 0;
    const usedHere = (hash: string) => here?.codes.find((row) => row.code_hash === hash)?.used_at ?? null;
    return {
      totp: {
        user_id: userId,
        secret_sealed: seal(totpKey, carried.secret, totpSealContext(userId)),
        created_at: carried.createdAt,
        confirmed_at: carried.enabledAt,
        last_step: Math.max(carried.lastStep, stepHere),
      },
      backupCodes: carried.codesVerifyHere
        ? carried.codes.map((code) => ({
            id: uuidv7(),
            user_id: userId,
            code_hash: code.hash,
            created_at: code.createdAt,
            used_at: code.usedAt ?? usedHere(code.hash),
          }))
        : [],
    };
  }

  function judge(userId: string, carried: CarriedFactor, here: FactorHere | null): SecondFactorPlan {
    const same =
      here !== null &&
      constantTimeEqual(here.secret, carried.secret) &&
      here.totp.confirmed_at === carried.enabledAt &&
      (!carried.codesVerifyHere || sameCodes(carried.codes, here.codes));
    if (!same) {
      const rows = rowsFor(userId, carried, here);
      return {
        change: 'replaced',
        carriesApp: true,
        backupCodesLost: !carried.codesVerifyHere && carried.codes.length > 0,
        write: (trx) => replaceSecondFactor(trx, userId, rows),
      };
    }
    const used = carried.codesVerifyHere ? newlyUsed(carried.codes, here.codes) : [];
    const laterStep = carried.lastStep > here.totp.last_step;
    return {
      change: used.length || laterStep ? 'tightened' : 'none',
      carriesApp: true,
      backupCodesLost: false,
      async write(trx) {
        if (laterStep) await claimTotpStep(trx, userId, carried.lastStep);
        for (const code of used) await consumeBackupCode(trx, userId, code.hash, code.usedAt);
      },
    };
  }

  return {
    async exportOf(userId, transferKey): Promise<SecondFactorRecord | null> {
      const here = await factorHere(userId);
      if (!here) return null;
      return {
        enabled_at: toIso(here.totp.confirmed_at),
        totp: {
          secret_sealed: transferKey.seal(here.secret, transferContext(userId)),
          created_at: toIso(here.totp.created_at),
          last_step: here.totp.last_step,
        },
        backup_codes: {
          key_check: keyCheck,
          codes: here.codes.map((row) => ({
            hash: row.code_hash,
            created_at: toIso(row.created_at),
            used_at: row.used_at === null ? null : toIso(row.used_at),
          })),
        },
      };
    },

    async plan(userId, record, transferKey) {
      const here = await factorHere(userId);
      if (record !== null) return judge(userId, await readRecord(userId, record, transferKey), here);
      return {
        change: here ? 'replaced' : 'none',
        carriesApp: false,
        backupCodesLost: false,
        write: here ? (trx) => replaceSecondFactor(trx, userId, null) : async () => {},
      };
    },
  };
}
