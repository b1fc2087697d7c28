import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { enableMfa, login, nextStep, totpAt, verify } from './support/mfa.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { offsetClock, startTestServer, type TestServer } from './support/test-server.js';

const SERVER_ENV = { GATEHOUSE_LOGIN_RATE_LIMIT: '0', GATEHOUSE_LOCKOUT_THRESHOLD: '50' };

describe('users export and import carry what protects an account, from SQLite to PostgreSQL', () => {
  let cwd: string;
  let transferKeyFile: string;
  let exportFile: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let sourceServer: TestServer;
  let targetServer: TestServer | undefined;
  const sourceKey = randomBytes(32).toString('base64url');
  const targetKey = randomBytes(32).toString('base64url');
  const sourceClock = offsetClock();
  const targetClock = offsetClock();
  const email = uniqueEmail('protected');
  let userId: string;
  let secret: string;
  let backupCodes: string[];

  const settings = (database: TestDatabase, masterKey: string) => ({
    GATEHOUSE_DATA_DIR: database.dataDir,
    GATEHOUSE_DATABASE_URL: database.url,
    GATEHOUSE_MASTER_KEY: masterKey,
    GATEHOUSE_LOG_LEVEL: 'silent',
  });
  const onSource = (...args: string[]) => gatehouseCli(args, settings(source, sourceKey));
  const onTarget = (...args: string[]) => gatehouseCli(args, settings(target, targetKey));

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'gatehouse-transfer-'));
    transferKeyFile = path.join(cwd, 'transfer.key');
    exportFile = path.join(cwd, 'users.jsonl');
    await writeFile(transferKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    source = await createTestDatabase('sqlite');
    target = await createTestDatabase('postgres');
    sourceServer = await startTestServer(source, {
      env: { ...SERVER_ENV, GATEHOUSE_MASTER_KEY: sourceKey },
      clock: sourceClock,
    });
    const person = await signUp(sourceServer.url, email);
    userId = person.user.id;
    ({ secret, backupCodes } = await enableMfa(sourceServer, person.access_token, sourceClock));
    await signUp(sourceServer.url);
  });
  afterAll(async () => {
    await targetServer?.close();
    await sourceServer?.close();
    await source?.drop();
    await target?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('refuses to export accounts with a second factor without a transfer key, naming them and the ways out', async () => {
    const refused = await onSource('users', 'export');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(email);
    expect(refused.stderr).toContain('sign in with their password alone');
    expect(refused.stderr).toContain('--transfer-key-file');
    expect(refused.stderr).toContain('--without-mfa');
  });

  it('leaves second factors out only when told to, and says so', async () => {
    const file = path.join(cwd, 'without-mfa.jsonl');
    const exported = await onSource('users', 'export', '--without-mfa', '--output', file);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('Second factors of 1 of them were left out (--without-mfa)');
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.find((line) => line.id === userId).mfa).toBe('not_exported');
    expect(lines.find((line) => line.id !== userId).mfa).toBeNull();
  });

  it('exports the TOTP secret sealed under the transfer key, never in clear', async () => {
    const exported = await onSource(
      'users',
      'export',
      '--transfer-key-file',
      transferKeyFile,
      '--output',
      exportFile,
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('Second factors of 1 of them are in it, sealed under the transfer key');
    const text = await readFile(exportFile, 'utf8');
    expect(text).not.toContain(secret);
    const line = text
      .trim()
      .split('\n')
      .map((each) => JSON.parse(each))
      .find((each) => each.id === userId);
    expect(line.mfa.totp.secret_sealed).toMatch(/^gtk1\./);
    expect(line.mfa.backup_codes.codes).toHaveLength(backupCodes.length);
  });

  it('refuses a transfer key file other than the export’s', async () => {
    const otherKey = path.join(cwd, 'other.key');
    await writeFile(otherKey, randomBytes(32).toString('base64'));
    const refused = await onTarget('users', 'import', exportFile, '--transfer-key-file', otherKey);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/line \d+: mfa\.totp\.secret_sealed does not open with this transfer key/);
    expect(refused.stderr).not.toContain(secret);
  });

  // Regression: an imported account that had TOTP signed in with its password alone.
  it('imports into PostgreSQL under another master key: the password alone answers mfa_required, the TOTP code completes it', async () => {
    const imported = await onTarget('users', 'import', exportFile, '--transfer-key-file', transferKeyFile);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(
      `Imported ${exportFile}: 2 created, 0 updated, 0 unchanged, 0 skipped.`,
    );
    expect(imported.stdout).toContain('Second factor (authenticator app) carried for 1 of them.');
    expect(imported.stdout).toContain('Backup codes not carried for 1');
    expect(imported.stdout).not.toContain('bcrypt');

    targetServer = await startTestServer(target, {
      env: { ...SERVER_ENV, GATEHOUSE_MASTER_KEY: targetKey },
      clock: targetClock,
    });
    // Past the step the source last accepted, which the import carries so that no code is good twice.
    const now = nextStep(targetClock, 4);
    const password = await login(targetServer, email);
    expect(password.status).toBe(200);
    expect(password.body.mfa_required).toBe(true);
    expect(password.body.access_token).toBeUndefined();

    const mfaToken = password.body.mfa_token as string;
    expect((await verify(targetServer, mfaToken, backupCodes[0]!)).status).toBe(401);
    const completed = await verify(targetServer, mfaToken, totpAt(secret, now));
    expect(completed.status).toBe(200);
    expect(completed.body.user.id).toBe(userId);
    expect(completed.body.access_token).toEqual(expect.any(String));
  });

  it('re-imports the same file as a no-op', async () => {
    const again = await onTarget(
      'users',
      'import',
      exportFile,
      '--transfer-key-file',
      transferKeyFile,
      '--json',
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      created: 0,
      updated: 0,
      unchanged: 2,
      skipped: 0,
      mfa_carried: 1,
      backup_codes_not_carried: 0,
      mfa_not_exported: 0,
      bcrypt_hashes: 0,
    });
  });

  it('refuses an older export over a newer password unless told, listing what would change', async () => {
    const newPassword = 'a newer password set on the target';
    await targetServer!.gatehouse.users.changePassword(userId, PASSWORD, newPassword);

    const refused = await onTarget('users', 'import', exportFile, '--transfer-key-file', transferKeyFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Nothing was imported');
    expect(refused.stderr).toMatch(
      new RegExp(`line \\d+, ${email} \\(${userId}\\): password \\(updated here`),
    );
    expect(refused.stderr).toContain('--overwrite');
    expect((await login(targetServer!, email, newPassword)).body.mfa_required).toBe(true);

    const kept = await onTarget(
      'users',
      'import',
      exportFile,
      '--transfer-key-file',
      transferKeyFile,
      '--keep-newer',
      '--json',
    );
    expect(JSON.parse(kept.stdout)).toMatchObject({ created: 0, updated: 0, unchanged: 1, skipped: 1 });
    expect((await login(targetServer!, email, newPassword)).body.mfa_required).toBe(true);

    const overwritten = await onTarget(
      'users',
      'import',
      exportFile,
      '--transfer-key-file',
      transferKeyFile,
      '--overwrite',
      '--json',
    );
    expect(JSON.parse(overwritten.stdout)).toMatchObject({ updated: 1, unchanged: 1, skipped: 0 });
    expect((await login(targetServer!, email)).body.mfa_required).toBe(true);
  });

  it('says that bcrypt hashes are replaced only when it imported one', async () => {
    const file = path.join(cwd, 'bcrypt.jsonl');
    const line = { id: uuidv7(), email: uniqueEmail('bcrypt'), password_hash: bcrypt.hashSync(PASSWORD, 4) };
    await writeFile(file, `${JSON.stringify(line)}\n`);
    const imported = await onTarget('users', 'import', file);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe(
      `Imported ${file}: 1 created, 0 updated, 0 unchanged, 0 skipped.\n` +
        "Users with a bcrypt hash: 1; each is replaced by argon2id at the user's next login.\n",
    );
  });

  it('refuses an email or a name that is not well-formed Unicode, naming the line', async () => {
    const file = path.join(cwd, 'surrogates.jsonl');
    const good = JSON.stringify({ id: uuidv7(), email: uniqueEmail('good') });
    const loneInEmail = `{"id":"${uuidv7()}","email":"lone\\ud800@example.com"}`;
    await writeFile(file, `${good}\n${loneInEmail}\n`);
    const badEmail = await onTarget('users', 'import', file);
    expect(badEmail.code).toBe(1);
    expect(badEmail.stderr).toContain('line 2: email is not well-formed Unicode');

    const loneInName = `{"id":"${uuidv7()}","email":"${uniqueEmail('named')}","name":"Zo\\udc00"}`;
    await expect(targetServer!.gatehouse.userTransfer.importLines([good, loneInName])).rejects.toMatchObject({
      detail: 'line 2: name is not well-formed Unicode: it holds a lone surrogate',
    });
  });
});

describe('users import under the same master key', () => {
  let cwd: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let sourceServer: TestServer;
  let targetServer: TestServer;
  const masterKey = randomBytes(32).toString('base64url');
  const clock = offsetClock();

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'gatehouse-transfer-'));
    source = await createTestDatabase('sqlite');
    target = await createTestDatabase('sqlite');
    const env = { ...SERVER_ENV, GATEHOUSE_MASTER_KEY: masterKey };
    sourceServer = await startTestServer(source, { env, clock });
    targetServer = await startTestServer(target, { env, clock });
  });
  afterAll(async () => {
    await targetServer?.close();
    await sourceServer?.close();
    await source?.drop();
    await target?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('carries the backup codes too: they verify where the backup-codes subkey is the same', async () => {
    const email = uniqueEmail('same-key');
    const person = await signUp(sourceServer.url, email);
    const { backupCodes } = await enableMfa(sourceServer, person.access_token, clock);
    const passphrase = randomBytes(24).toString('base64');
    const lines: string[] = [];
    for await (const record of sourceServer.gatehouse.userTransfer.exportUsers({ transferKey: passphrase })) {
      lines.push(JSON.stringify(record));
    }

    const summary = await targetServer.gatehouse.userTransfer.importLines(lines, { transferKey: passphrase });
    expect(summary).toMatchObject({ created: 1, mfa_carried: 1, backup_codes_not_carried: 0 });
    const password = await login(targetServer, email);
    expect(password.body.mfa_required).toBe(true);
    const completed = await verify(targetServer, password.body.mfa_token, backupCodes[0]!);
    expect(completed.status).toBe(200);
    expect(completed.body.user.id).toBe(person.user.id);
  });

  // Regression: new backup codes did not mark the account changed, so an older export brought the old ones back.
  it('refuses to bring back backup codes replaced since the export, unless told', async () => {
    const email = uniqueEmail('regenerated');
    const person = await signUp(sourceServer.url, email);
    const { secret, backupCodes } = await enableMfa(sourceServer, person.access_token, clock);
    const passphrase = randomBytes(24).toString('base64');
    const lines: string[] = [];
    for await (const record of sourceServer.gatehouse.userTransfer.exportUsers({ transferKey: passphrase })) {
      if (record.id === person.user.id) lines.push(JSON.stringify(record));
    }
    clock.advance(1_000);
    const regenerated = await call(sourceServer.url, 'POST', '/v1/auth/mfa/backup-codes', {
      token: person.access_token,
      body: { code: totpAt(secret, nextStep(clock)) },
    });
    expect(regenerated.status, regenerated.text).toBe(200);

    await expect(
      sourceServer.gatehouse.userTransfer.importLines(lines, { transferKey: passphrase }),
    ).rejects.toThrow(/Nothing was imported/);
    const password = await login(sourceServer, email);
    const oldCode = await verify(sourceServer, password.body.mfa_token, backupCodes[0]!);
    expect(oldCode.body.code).toBe('mfa_invalid');
  });
});
