import type { Kysely } from 'kysely';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import {
  MIN_TRANSFER_PASSPHRASE_LENGTH,
  type TransferKey,
  transferKeyFrom,
} from '../secrets/transfer-key.js';
import {
  type LoginThrottleRow,
  raiseLoginThrottle,
  readLoginThrottle,
  readLoginThrottles,
} from '../store/login-throttles-store.js';
import type { Database } from '../store/schema.js';
import {
  findUserById,
  findUsersWithMfa,
  importUsers,
  streamUserPages,
  type UserImport,
  type UserRow,
} from '../store/users-store.js';
import { accountKey } from './login-throttle.js';
import { isBcryptHash } from './passwords.js';
import {
  MFA_NOT_EXPORTED,
  type ParsedUserLine,
  parseUserLine,
  type SecondFactorRecord,
  toUserRecord,
  type UserRecord,
} from './user-record.js';
import type { CachedUsers } from './users.js';

/** What a line's second factor does to the account here, as the mfa domain judged it. */
export interface SecondFactorPlan {
  /**
   * `tightened`: the same factor, with only marks of use to add (a later TOTP step, a backup code used since);
   * `replaced`: the factor itself changes (turned on, off, or another secret or set of backup codes).
   */
  change: 'none' | 'tightened' | 'replaced';
  /** The line carries an authenticator app. */
  carriesApp: boolean;
  /** The line's backup codes do not verify here (another master key), and the account is left without them. */
  backupCodesLost: boolean;
  /** Writes the change in the import's transaction. */
  write(trx: Kysely<Database>): Promise<void>;
}

/**
 * The second factor's part of a transfer, which the mfa domain implements: declared here, not imported, so
 * the users domain depends on no domain that depends on it.
 */
export interface SecondFactorTransfer {
  /** The user's confirmed second factor, its secret sealed under `transferKey`; null when there is none. */
  exportOf(userId: string, transferKey: TransferKey): Promise<SecondFactorRecord | null>;
  /**
   * Judges a line's `mfa` (null or a record) against the user's second factor here, writing nothing; throws
   * `validation_failed` naming the field when the record is wrong or its secret does not open.
   */
  plan(userId: string, record: unknown, transferKey: TransferKey | undefined): Promise<SecondFactorPlan>;
}

export interface ExportOptions {
  /** The transfer key file's passphrase: second factors are carried, sealed under it. */
  transferKey?: string;
  /** Leaves second factors out, knowingly. */
  withoutMfa?: boolean;
}

export interface ImportOptions {
  /** The passphrase the file's second factors were sealed under. */
  transferKey?: string;
  /** Writes users whose copy here is newer than the file's anyway. */
  overwrite?: boolean;
  /** Skips users whose copy here is newer than the file's, and imports the rest. */
  keepNewer?: boolean;
}

/** What an import did, user by user. */
export interface ImportSummary {
  created: number;
  updated: number;
  /** Lines identical to the database: nothing written. */
  unchanged: number;
  /** Lines older than the database's copy, left out with `keepNewer`. */
  skipped: number;
  /** Users created, updated or unchanged whose line carries an authenticator app. */
  mfa_carried: number;
  /** Users left without the backup codes their line carries: those verify only under the source's master key. */
  backup_codes_not_carried: number;
  /** Users whose line was exported with `--without-mfa`. */
  mfa_not_exported: number;
  /** Users written with a bcrypt hash, replaced by argon2id at their next login. */
  bcrypt_hashes: number;
}

/** `gatehouse users export` and `import`: accounts moved between databases with all that protects them. */
export interface UserTransfer {
  exportUsers(options?: ExportOptions): AsyncGenerator<UserRecord>;
  /** Imports JSON lines written by `exportUsers`: every line is checked first, then all land or none. */
  importLines(lines: string[], options?: ImportOptions): Promise<ImportSummary>;
}

export interface UserTransferOptions {
  db: Kysely<Database>;
  clock: Clock;
  /** Told of each user an import changed, so running instances stop trusting their cached view. */
  views: CachedUsers;
  secondFactors: SecondFactorTransfer;
}

type Outcome = 'created' | 'updated' | 'unchanged' | 'skipped' | 'refused';

interface LinePlan {
  lineNumber: number;
  user: UserRow;
  existing: UserRow | undefined;
  /** What the line would change of the user here, by name (never a value: a hash is a secret too). */
  changes: string[];
  secondFactor: SecondFactorPlan | undefined;
  /** The login throttle to raise the account's to, when the line's counts more failures or a later lock. */
  lock: LoginThrottleRow | undefined;
  mfaNotExported: boolean;
  outcome: Outcome;
}

/** How many accounts with a second factor a refused export names. */
const NAMED_IN_REFUSAL = 10;

const lineError = (lineNumber: number, error: unknown) =>
  new GatehouseError('validation_failed', {
    detail: `line ${lineNumber}: ${error instanceof GatehouseError ? (error.detail ?? error.code) : (error as Error).message}`,
  });

function sameRoles(stored: string, line: string): boolean {
  const sorted = (json: string) => JSON.stringify((JSON.parse(json) as string[]).toSorted());
  return sorted(stored) === sorted(line);
}

function userChanges(existing: UserRow, line: UserRow): string[] {
  const differs: Record<string, boolean> = {
    email: existing.email !== line.email,
    name: existing.name !== line.name,
    password: existing.password_hash !== line.password_hash,
    roles: !sameRoles(existing.roles, line.roles),
    disabled: existing.disabled_at !== line.disabled_at,
    created_at: existing.created_at !== line.created_at,
  };
  return Object.keys(differs).filter((field) => differs[field]);
}

function outcomeOf(plan: Omit<LinePlan, 'outcome'>, options: ImportOptions): Outcome {
  if (!plan.existing) return 'created';
  const tightens = plan.secondFactor?.change === 'tightened' || plan.lock !== undefined;
  if (!plan.changes.length) return tightens ? 'updated' : 'unchanged';
  if (plan.existing.updated_at <= plan.user.updated_at || options.overwrite) return 'updated';
  return options.keepNewer ? 'skipped' : 'refused';
}

function refuseOlderLines(refused: LinePlan[]): never {
  const listed = refused.map(
    ({ lineNumber, user, existing, changes }) =>
      `  line ${lineNumber}, ${user.email} (${user.id}): ${changes.join(', ')}` +
      ` (updated here ${toIso(existing!.updated_at)}, in the file ${toIso(user.updated_at)})`,
  );
  throw new GatehouseError('validation_failed', {
    detail: `Nothing was imported: it would change users updated here after the file's copy\n${listed.join('\n')}`,
    hint: "Run again with --overwrite to write the file's copy of these users anyway, or --keep-newer to skip them and import the rest.",
  });
}

function summarize(plans: LinePlan[]): ImportSummary {
  const count = (outcome: Outcome) => plans.filter((plan) => plan.outcome === outcome).length;
  const kept = plans.filter((plan) => plan.outcome !== 'skipped');
  const written = kept.filter((plan) => plan.outcome === 'created' || plan.changes.length > 0);
  return {
    created: count('created'),
    updated: count('updated'),
    unchanged: count('unchanged'),
    skipped: count('skipped'),
    mfa_carried: kept.filter((plan) => plan.secondFactor?.carriesApp).length,
    backup_codes_not_carried: kept.filter((plan) => plan.secondFactor?.backupCodesLost).length,
    mfa_not_exported: kept.filter((plan) => plan.mfaNotExported).length,
    bcrypt_hashes: written.filter((plan) => plan.user.password_hash && isBcryptHash(plan.user.password_hash))
      .length,
  };
}

export function createUserTransfer(options: UserTransferOptions): UserTransfer {
  const { db, clock, views, secondFactors } = options;

  /** Refuses an export that would leave second factors out unasked, naming the accounts that have one. */
  async function refuseUncarriedMfa(): Promise<void> {
    const { count, emails } = await findUsersWithMfa(db, NAMED_IN_REFUSAL);
    if (count === 0) return;
    const more = count > emails.length ? ` and ${count - emails.length} more` : '';
    throw new GatehouseError('validation_failed', {
      detail:
        `Accounts with a second factor: ${count} (${emails.join(', ')}${more}). Without a transfer key the ` +
        'export would leave out their authenticator-app secrets and backup codes, and on the target they ' +
        'would sign in with their password alone',
      hint:
        `Carry them sealed with --transfer-key-file FILE (a passphrase of ${MIN_TRANSFER_PASSPHRASE_LENGTH} ` +
        'characters or more; give the same file to `users import`), or leave them out knowingly with --without-mfa.',
    });
  }

  async function secondFactorOf(
    row: UserRow,
    transferKey: TransferKey | undefined,
    withoutMfa: boolean,
  ): Promise<UserRecord['mfa']> {
    if (row.mfa_enabled_at == null) return null;
    if (transferKey) return secondFactors.exportOf(row.id, transferKey);
    if (withoutMfa) return MFA_NOT_EXPORTED;
    // Turned on after the export began: refused like the others, unless it was turned off again meanwhile.
    await refuseUncarriedMfa();
    return null;
  }

  async function* exportUsers({ transferKey, withoutMfa = false }: ExportOptions = {}) {
    if (transferKey !== undefined && withoutMfa) {
      throw new GatehouseError('validation_failed', {
        detail: 'Give a transfer key to carry second factors, or --without-mfa to leave them out, not both',
      });
    }
    const key = transferKey === undefined ? undefined : await transferKeyFrom(transferKey);
    if (!key && !withoutMfa) await refuseUncarriedMfa();
    for await (const page of streamUserPages(db)) {
      const accounts = page.map((row) => accountKey(row.email));
      const throttles = new Map(
        (await readLoginThrottles(db, accounts)).map((throttle) => [throttle.account, throttle]),
      );
      for (const [index, row] of page.entries()) {
        const mfa = await secondFactorOf(row, key, withoutMfa);
        yield toUserRecord(row, mfa, throttles.get(accounts[index]!));
      }
    }
  }

  function parseLines(lines: string[]): { lineNumber: number; parsed: ParsedUserLine }[] {
    const firstLineOf = new Map<string, number>();
    return lines.flatMap((line, index) => {
      if (!line.trim()) return [];
      const lineNumber = index + 1;
      try {
        const parsed = parseUserLine(line, clock.now());
        const first = firstLineOf.get(parsed.user.id);
        if (first) throw new Error(`user ${parsed.user.id} is already on line ${first}`);
        firstLineOf.set(parsed.user.id, lineNumber);
        return [{ lineNumber, parsed }];
      } catch (error) {
        throw lineError(lineNumber, error);
      }
    });
  }

  /** The throttle to raise the account's to, or undefined when the one here already counts as much. */
  async function lockRaise(
    email: string,
    lock: ParsedUserLine['lock'],
  ): Promise<LoginThrottleRow | undefined> {
    if (!lock) return undefined;
    const account = accountKey(email);
    const here = await readLoginThrottle(db, account);
    const raises =
      !here || lock.failures > here.failures || (lock.locked_until ?? 0) > (here.locked_until ?? 0);
    return raises ? { account, ...lock } : undefined;
  }

  async function planLine(
    lineNumber: number,
    { user, mfa, lock }: ParsedUserLine,
    transferKey: TransferKey | undefined,
    options: ImportOptions,
  ): Promise<LinePlan> {
    const mfaInLine = mfa !== undefined && mfa !== MFA_NOT_EXPORTED;
    const existing = await findUserById(db, user.id);
    const secondFactor = mfaInLine ? await secondFactors.plan(user.id, mfa, transferKey) : undefined;
    const changes = [
      ...(existing ? userChanges(existing, user) : []),
      ...(secondFactor?.change === 'replaced' ? ['MFA'] : []),
    ];
    const plan = {
      lineNumber,
      user,
      existing,
      changes,
      secondFactor,
      lock: await lockRaise(user.email, lock),
      mfaNotExported: mfa === MFA_NOT_EXPORTED,
    };
    return { ...plan, outcome: outcomeOf(plan, options) };
  }

  /** Judges every line against the database, writing nothing; a line that cannot be imported names itself. */
  async function planLines(
    parsedLines: { lineNumber: number; parsed: ParsedUserLine }[],
    options: ImportOptions,
  ): Promise<LinePlan[]> {
    const transferKey =
      options.transferKey === undefined ? undefined : await transferKeyFrom(options.transferKey);
    const plans: LinePlan[] = [];
    for (const { lineNumber, parsed } of parsedLines) {
      try {
        plans.push(await planLine(lineNumber, parsed, transferKey, options));
      } catch (error) {
        const invalid = error instanceof GatehouseError && error.code === 'validation_failed';
        throw invalid ? lineError(lineNumber, error) : error;
      }
    }
    return plans;
  }

  function toImport(plan: LinePlan): UserImport {
    const { user, existing, secondFactor, lock } = plan;
    return {
      id: user.id,
      ...(plan.outcome === 'created' || plan.changes.length ? { row: user } : {}),
      plannedUpdatedAt: existing?.updated_at ?? null,
      async writeAlongside(trx) {
        if (lock) await raiseLoginThrottle(trx, lock);
        await secondFactor?.write(trx);
      },
    };
  }

  async function importLines(lines: string[], options: ImportOptions = {}): Promise<ImportSummary> {
    if (options.overwrite && options.keepNewer) {
      throw new GatehouseError('validation_failed', { detail: 'Give --overwrite or --keep-newer, not both' });
    }
    const plans = await planLines(parseLines(lines), options);
    const refused = plans.filter((plan) => plan.outcome === 'refused');
    if (refused.length) refuseOlderLines(refused);
    const writes = plans.filter((plan) => plan.outcome === 'created' || plan.outcome === 'updated');
    const result = await importUsers(db, writes.map(toImport));
    if (result.conflict) throw new GatehouseError('validation_failed', { detail: result.conflict });
    for (const plan of writes) if (plan.existing) views.forgetUser(plan.user.id);
    return summarize(plans);
  }

  return { exportUsers, importLines };
}
