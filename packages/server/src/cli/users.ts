import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { MFA_NOT_EXPORTED, type UserRecord } from '../users/user-record.js';
import type { ImportSummary } from '../users/user-transfer.js';
import { KNOWN_ROLES } from '../users/users.js';
import { CLI_ACTOR, type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';
import { newAccountPassword, PASSWORD_OPTION_HELP } from './password-input.js';

interface ExportOptions extends CommonOptions {
  output?: string;
  transferKeyFile?: string;
  withoutMfa?: boolean;
}

interface ImportOptions extends CommonOptions {
  transferKeyFile?: string;
  overwrite?: boolean;
  keepNewer?: boolean;
}

const readTransferKey = async (file: string | undefined) =>
  file === undefined ? undefined : readFile(file, 'utf8');

function exportSummary(records: UserRecord[], file: string | undefined) {
  const carried = records.filter((record) => typeof record.mfa === 'object' && record.mfa !== null).length;
  const leftOut = records.filter((record) => record.mfa === MFA_NOT_EXPORTED).length;
  const text = [
    `Exported ${records.length} users${file ? ` to ${file}` : ''}.`,
    ...(carried ? [`Second factors of ${carried} of them are in it, sealed under the transfer key.`] : []),
    ...(leftOut
      ? [
          `Second factors of ${leftOut} of them were left out (--without-mfa): on the target they sign in with their password alone.`,
        ]
      : []),
  ].join('\n');
  return {
    json: { exported: records.length, file, mfa_carried: carried, mfa_left_out: leftOut },
    text,
    leftOut,
  };
}

function describeImport(file: string, summary: ImportSummary): string {
  const { created, updated, unchanged, skipped } = summary;
  return [
    `Imported ${file}: ${created} created, ${updated} updated, ${unchanged} unchanged, ${skipped} skipped.`,
    ...(summary.mfa_carried
      ? [`Second factor (authenticator app) carried for ${summary.mfa_carried} of them.`]
      : []),
    ...(summary.backup_codes_not_carried
      ? [
          `Backup codes not carried for ${summary.backup_codes_not_carried}: they verify only under the source's master key; those users sign in with their authenticator app and make new ones (POST /v1/auth/mfa/backup-codes).`,
        ]
      : []),
    ...(summary.mfa_not_exported
      ? [
          `No second factor in the file for ${summary.mfa_not_exported} (exported with --without-mfa): one that has none here signs in with the password alone.`,
        ]
      : []),
    ...(summary.bcrypt_hashes
      ? [
          `Users with a bcrypt hash: ${summary.bcrypt_hashes}; each is replaced by argon2id at the user's next login.`,
        ]
      : []),
  ].join('\n');
}

export function registerUsers(program: Command): void {
  const users = program
    .command('users')
    .description(
      'user accounts: create and unlock them, move them between databases (ids and password hashes kept)',
    );
  registerCreate(users);
  registerUnlock(users);

  withCommonOptions(
    users
      .command('export')
      .description(
        'write every user as JSON lines, with the second factor and lock that protect each account',
      )
      .option('--output <file>', 'write to a file instead of stdout')
      .option('--transfer-key-file <file>', 'carry second factors, sealed under the passphrase in this file')
      .option(
        '--without-mfa',
        'leave second factors out: those users sign in on the target with their password alone',
      ),
  ).action(async (options: ExportOptions) => {
    const transferKey = await readTransferKey(options.transferKeyFile);
    await withGatehouse(options, async ({ userTransfer }) => {
      const records: UserRecord[] = [];
      for await (const record of userTransfer.exportUsers({ transferKey, withoutMfa: options.withoutMfa })) {
        records.push(record);
      }
      const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
      const summary = exportSummary(records, options.output);
      if (options.output) {
        await writeFile(options.output, text, { mode: 0o600 });
        print(options, summary.json, summary.text);
      } else {
        process.stdout.write(text);
        if (summary.leftOut) process.stderr.write(`${summary.text}\n`);
      }
    });
  });

  withCommonOptions(
    users
      .command('import')
      .description('import JSON lines written by `users export` (argon2 or bcrypt hashes): all land or none')
      .argument('<file>')
      .option('--transfer-key-file <file>', 'the passphrase file the export sealed second factors under')
      .option('--overwrite', "write users whose copy here is newer than the file's anyway")
      .option('--keep-newer', "skip users whose copy here is newer than the file's, and import the rest"),
  ).action(async (file: string, options: ImportOptions) => {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const transferKey = await readTransferKey(options.transferKeyFile);
    await withGatehouse(options, async ({ userTransfer }) => {
      const summary = await userTransfer.importLines(lines, {
        transferKey,
        overwrite: options.overwrite,
        keepNewer: options.keepNewer,
      });
      print(options, summary, describeImport(file, summary));
    });
  });
}

interface CreateOptions extends CommonOptions {
  email: string;
  password?: string;
  name?: string;
  role: string[];
}

function registerCreate(users: Command): void {
  withCommonOptions(
    users
      .command('create')
      .description('create an account (also while sign-up is closed)')
      .requiredOption('--email <email>', 'email of the account')
      .option('--password <password>', PASSWORD_OPTION_HELP)
      .option('--name <name>', 'display name')
      .option(
        '--role <role>',
        `a role to give, repeatable (${KNOWN_ROLES.join(', ')})`,
        (role: string, roles: string[]) => [...roles, role],
        [],
      ),
  ).action(async (options: CreateOptions) => {
    const password = await newAccountPassword(options.password);
    await withGatehouse(options, async ({ users }) => {
      const user = await users.create(
        { email: options.email, password, name: options.name ?? null, roles: options.role },
        CLI_ACTOR,
      );
      print(options, { user }, `Created ${user.email} (${user.id}).`);
    });
  });
}

interface UnlockOptions extends CommonOptions {
  email: string;
}

function registerUnlock(users: Command): void {
  withCommonOptions(
    users
      .command('unlock')
      .description('lift a lockout: forget the failed sign-ins (passwords and codes) of an account')
      .requiredOption('--email <email>', 'email of the account'),
  ).action(async (options: UnlockOptions) => {
    await withGatehouse(options, async ({ users }) => {
      const found = await users.findByEmail(options.email);
      if (!found)
        throw new GatehouseError('user_not_found', { detail: `No user with email ${options.email}` });
      const { user, lockedUntil } = await users.unlock(found.id, CLI_ACTOR);
      print(
        options,
        { user, was_locked_until: lockedUntil === null ? null : toIso(lockedUntil) },
        lockedUntil === null
          ? `${user.email} was not locked; its failed sign-ins are forgotten.`
          : `Unlocked ${user.email} (locked until ${toIso(lockedUntil)}).`,
      );
    });
  });
}
