import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, signUp, uniqueEmail } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';

// Regression: no registry holds @gatehouse/codes, so a tarball that needed it from one could not be installed
// at all. Each tarball `npm run pack` writes must install alone into an empty project outside the repository.

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../../..', import.meta.url));

/** An ordinary project's npm: the workspace settings of an `npm test -w …` run must not reach it. */
const KEPT_NPM_SETTINGS = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
const projectEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') || KEPT_NPM_SETTINGS.has(name)),
);

const VERIFY_TOKENS = `
import { createVerifier } from '@gatehouse/verify';
const verifier = createVerifier({ issuer: process.env.GATEHOUSE_ISSUER });
const results = [];
for (const token of JSON.parse(process.env.TOKENS)) results.push(await verifier.verify(token));
console.log(JSON.stringify({ loadedFrom: import.meta.resolve('@gatehouse/verify'), results }));
`;

const SIGN_UP = `
import { createGatehouseClient } from '@gatehouse/client';
const gatehouse = createGatehouseClient({ baseUrl: process.env.GATEHOUSE_URL });
await gatehouse.signUp({ email: process.env.EMAIL, password: process.env.PASSWORD });
console.log(JSON.stringify({ loadedFrom: import.meta.resolve('@gatehouse/client'), token: await gatehouse.getAccessToken() }));
gatehouse.close();
`;

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'openid admin' })).toString('base64url');
  return `${header}.${widened}.${signature}`;
}

describe('the packed tarballs install alone', () => {
  let database: TestDatabase;
  let server: TestServer;
  let workDir: string;
  const projects = { verify: '', client: '' };

  /** An empty project holding only this tarball; its registry dependencies come from the npm cache. */
  async function installAlone(tarball: string, script: string): Promise<string> {
    const project = await mkdtemp(join(workDir, 'project-'));
    await writeFile(join(project, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    await writeFile(join(project, 'main.js'), script);
    const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball];
    await run('npm', npmInstall, { cwd: project, env: projectEnv });
    return project;
  }

  async function runIn(project: string, env: Record<string, string>) {
    const { stdout } = await run(process.execPath, ['main.js'], {
      cwd: project,
      env: { ...projectEnv, ...env },
    });
    return JSON.parse(stdout);
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-pack-install-'));
    database = await createTestDatabase();
    const tarballs = join(workDir, 'tarballs');
    const [packed] = await Promise.all([
      run(process.execPath, [join(repository, 'scripts/pack.js'), tarballs], { env: projectEnv }),
      startTestServer(database).then((started) => {
        server = started;
      }),
    ]);
    const [verifyTarball, clientTarball] = packed.stdout.trim().split('\n') as [string, string];
    [projects.verify, projects.client] = await Promise.all([
      installAlone(verifyTarball, VERIFY_TOKENS),
      installAlone(clientTarball, SIGN_UP),
    ]);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('@gatehouse/verify carries @gatehouse/codes, verifies a real token and refuses a tampered one with its code', async () => {
    expect(await readdir(join(projects.verify, 'node_modules', '@gatehouse'))).toEqual(['verify']);
    const { user, access_token } = await signUp(server.url);

    const { loadedFrom, results } = await runIn(projects.verify, {
      GATEHOUSE_ISSUER: server.url,
      TOKENS: JSON.stringify([access_token, tamper(access_token)]),
    });
    expect(loadedFrom.startsWith(pathToFileURL(projects.verify).href)).toBe(true);
    expect(results[0]).toMatchObject({ ok: true, claims: { iss: server.url, sub: user.id } });
    expect(results[1]).toMatchObject({
      ok: false,
      code: 'token_signature_invalid',
      action: 'sign_out',
      status: 401,
    });
  });

  it('@gatehouse/client signs up against a real Gatehouse, and the packed verifier accepts its token', async () => {
    expect(await readdir(join(projects.client, 'node_modules', '@gatehouse'))).toEqual(['client']);
    const signedUp = await runIn(projects.client, {
      GATEHOUSE_URL: server.url,
      EMAIL: uniqueEmail('packed'),
      PASSWORD,
    });
    expect(signedUp.loadedFrom.startsWith(pathToFileURL(projects.client).href)).toBe(true);

    const { results } = await runIn(projects.verify, {
      GATEHOUSE_ISSUER: server.url,
      TOKENS: JSON.stringify([signedUp.token]),
    });
    expect(results[0]).toMatchObject({ ok: true, claims: { iss: server.url } });
  });
});
