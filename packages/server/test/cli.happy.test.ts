import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const BIN = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as `npx gatehouse` would, with only the GATEHOUSE_* settings given here. */
function gatehouse(args: string[], settings: Record<string, string>, cwd: string): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('GATEHOUSE_')) env[name] = value;
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...env, ...settings }, cwd, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface ExportedUser {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  roles: string[];
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

const parseLines = (text: string): ExportedUser[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedUser);

const jwtPayload = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string };
const jwtHeader = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string };

describe('the gatehouse CLI against a running server', () => {
  let cwd: string;
  let masterKey: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let server: TestServer;
  let targetServer: TestServer;
  const settings = (database: TestDatabase) => ({
    GATEHOUSE_DATA_DIR: database.dataDir,
    GATEHOUSE_DATABASE_URL: database.url,
    GATEHOUSE_MASTER_KEY: masterKey,
    GATEHOUSE_LOG_LEVEL: 'silent',
  });
  const cli = (database: TestDatabase, ...args: string[]) => gatehouse(args, settings(database), cwd);
  const login = (base: string, email: string, password: string) =>
    call(base, 'POST', '/v1/auth/login', { body: { email, password } });

  async function exportFrom(database: TestDatabase): Promise<ExportedUser[]> {
    const result = await cli(database, 'users', 'export');
    expect(result.code, result.stderr).toBe(0);
    return parseLines(result.stdout);
  }

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'gatehouse-cli-'));
    const generated = await gatehouse(['master-key', 'generate'], {}, cwd);
    expect(generated.code).toBe(0);
    masterKey = generated.stdout.trim();
    expect(masterKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    source = await createTestDatabase();
    target = await createTestDatabase();
    server = await startTestServer(source, { env: { GATEHOUSE_MASTER_KEY: masterKey } });
  });
  afterAll(async () => {
    await targetServer?.close();
    await server?.close();
    await source?.drop();
    await target?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('prints a different master key each time it generates one', async () => {
    const again = await gatehouse(['master-key', 'generate'], {}, cwd);
    expect(again.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again.stdout.trim()).not.toBe(masterKey);
  });

  it('creates an admin while the server runs, who can then sign in and use the admin API', async () => {
    const email = uniqueEmail('cli-admin');
    const created = await cli(source, 'admin', 'create', '--email', email, '--password', PASSWORD, '--json');
    expect(created.code, created.stderr).toBe(0);
    const output = JSON.parse(created.stdout);
    expect(output.created).toBe(true);
    expect(output.user).toMatchObject({ email, roles: ['admin'] });

    const signedIn = await login(server.url, email, PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(output.user.id);
    expect(signedIn.body.user.roles).toEqual(['admin']);
    const users = await call(server.url, 'GET', '/v1/admin/users', { token: signedIn.body.access_token });
    expect(users.status).toBe(200);

    const again = await cli(
      source,
      'admin',
      'create',
      '--email',
      email,
      '--password',
      'ignored password',
      '--json',
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, user: { id: output.user.id } });
    // Granting the role to an existing account does not change its password.
    expect((await login(server.url, email, PASSWORD)).status).toBe(200);
  });

  it('grants admin to an account that signed up over HTTP', async () => {
    const person = await signUp(server.url);
    const result = await cli(
      source,
      'admin',
      'create',
      '--email',
      person.user.email,
      '--password',
      PASSWORD,
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ created: false, user: { id: person.user.id } });
    const users = await call(server.url, 'GET', '/v1/admin/users', { token: person.access_token });
    expect(users.status).toBe(200);
  });

  it('lists one active and one next signing key, exactly the keys the server publishes in JWKS', async () => {
    const result = await cli(source, 'keys', 'list', '--json');
    expect(result.code).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: { kid: string; state: string; alg: string }[] };
    expect(keys.filter((key) => key.state === 'active')).toHaveLength(1);
    expect(keys.filter((key) => key.state === 'next')).toHaveLength(1);
    expect(keys).toHaveLength(2);

    const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    const published = (jwks.body.keys as { kid: string }[]).map((key) => key.kid).sort();
    expect(published).toEqual(keys.map((key) => key.kid).sort());

    const { access_token } = await signUp(server.url);
    expect(jwtHeader(access_token).kid).toBe(keys.find((key) => key.state === 'active')?.kid);
  });

  it('exports every user as JSON lines with ids and password hashes', async () => {
    const person = await signUp(server.url);
    const exported = await exportFrom(source);
    const line = exported.find((user) => user.id === person.user.id);
    expect(line).toMatchObject({ email: person.user.email, roles: [], disabled_at: null });
    expect(line?.password_hash).toMatch(/^\$argon2id\$/);
    expect(line?.created_at).toMatch(/Z$/);

    const admin = exported.find((user) => user.roles.includes('admin'));
    expect(admin).toBeDefined();
    const listed = await server.gatehouse.users.list({ limit: 500 });
    expect(exported.map((user) => user.id)).toEqual(listed.users.map((user) => user.id));
  });

  it('imports into a second, fresh database with the same ids, so the user signs in there as the same sub', async () => {
    const email = uniqueEmail('mover');
    const mover = await signUp(server.url, email);
    const file = path.join(cwd, 'users.jsonl');
    const exported = await exportFrom(source);
    await writeFile(file, `${exported.map((user) => JSON.stringify(user)).join('\n')}\n`);

    const imported = await cli(target, 'users', 'import', file, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({
      created: exported.length,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      bcrypt_hashes: 0,
    });

    targetServer = await startTestServer(target, { env: { GATEHOUSE_MASTER_KEY: masterKey } });
    const signedIn = await login(targetServer.url, email, PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(mover.user.id);
    expect(jwtPayload(signedIn.body.access_token).sub).toBe(mover.user.id);
    const info = await call(targetServer.url, 'GET', '/oauth/userinfo', {
      token: signedIn.body.access_token,
    });
    expect(info.body.sub).toBe(mover.user.id);

    const reexported = await exportFrom(target);
    expect(reexported.map((user) => user.id)).toEqual(exported.map((user) => user.id));
    expect(reexported.find((user) => user.id === mover.user.id)?.password_hash).toBe(
      exported.find((user) => user.id === mover.user.id)?.password_hash,
    );
  });

  it('imports a bcrypt hash, signs the user in with it, and replaces it with argon2id at that login', async () => {
    expect(targetServer).toBeDefined();
    const email = uniqueEmail('bcrypt');
    const password = 'legacy system password';
    const id = uuidv7();
    const hash = bcrypt.hashSync(password, 10);
    const file = path.join(cwd, 'bcrypt.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ id, email, name: 'Legacy', password_hash: hash, roles: [] })}\n`,
    );

    const imported = await cli(target, 'users', 'import', file, '--json');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ created: 1, bcrypt_hashes: 1 });
    expect((await exportFrom(target)).find((user) => user.id === id)?.password_hash).toBe(hash);

    expect((await login(targetServer.url, email, 'not the legacy password')).status).toBe(401);
    const signedIn = await login(targetServer.url, email, password);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user).toMatchObject({ id, email, name: 'Legacy' });
    expect(jwtPayload(signedIn.body.access_token).sub).toBe(id);

    const rehashed = (await exportFrom(target)).find((user) => user.id === id)?.password_hash;
    expect(rehashed).toMatch(/^\$argon2id\$/);
    expect((await login(targetServer.url, email, password)).status).toBe(200);
  });

  it('accepts a PHP-style $2y$ bcrypt hash as well', async () => {
    expect(targetServer).toBeDefined();
    const email = uniqueEmail('php');
    const password = 'password from php';
    const id = uuidv7();
    const hash = `$2y$${bcrypt.hashSync(password, 10).slice(4)}`;
    const file = path.join(cwd, 'php.jsonl');
    await writeFile(file, `${JSON.stringify({ id, email, password_hash: hash })}\n`);
    expect((await cli(target, 'users', 'import', file)).code).toBe(0);
    const signedIn = await login(targetServer.url, email, password);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(id);
  });

  // Regression: a truncated argon2 hash imported fine, then its login answered 500.
  it('refuses a malformed argon2 hash at import, or at least never answers its login with a 500', async () => {
    expect(targetServer).toBeDefined();
    const email = uniqueEmail('broken-hash');
    const file = path.join(cwd, 'broken.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ id: uuidv7(), email, password_hash: '$argon2id$not-really-a-hash' })}\n`,
    );
    const imported = await cli(target, 'users', 'import', file);
    if (imported.code !== 0) {
      expect(imported.stderr).toContain('line 1');
      return;
    }
    const signedIn = await login(targetServer.url, email, 'any password at all');
    expect(signedIn.status).toBe(401);
    expect(signedIn.body.code).toBe('invalid_credentials');
  });

  it('refuses a file with a bad line, naming the line number, and imports nothing from it', async () => {
    const good = { id: uuidv7(), email: uniqueEmail('good'), password_hash: null, roles: [] };
    const bad = { id: uuidv7(), email: 'not an email', password_hash: null, roles: [] };
    const file = path.join(cwd, 'bad.jsonl');
    await writeFile(file, `${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`);
    const before = await exportFrom(target);

    const result = await cli(target, 'users', 'import', file);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('line 2');
    expect(result.stderr).toMatch(/email/);

    const after = await exportFrom(target);
    expect(after.map((user) => user.id)).toEqual(before.map((user) => user.id));
    expect(after.some((user) => user.id === good.id)).toBe(false);
  });
});
