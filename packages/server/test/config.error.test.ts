import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigFlags, loadConfig } from '../src/config/load-config.js';
import { ConfigError } from '../src/config/parse.js';
import { generateMasterKey, loadMasterKey } from '../src/secrets/master-key.js';

const BIN = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

/** The environment of this process without any GATEHOUSE_* setting, so a child sees only what a test gives it. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('GATEHOUSE_')) env[name] = value;
  }
  return { ...env, ...extra };
}

function runCli(args: string[], env: Record<string, string>, cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: cleanEnv(env), cwd, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Loads the configuration and returns the ConfigError it throws (failing the test if it does not). */
function refusal(env: Record<string, string>, flags: ConfigFlags = {}): ConfigError {
  try {
    loadConfig({ env, flags, cwd: tmpdir() });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify({ env, flags })}`);
}

const oneLine = (message: string) => expect(message).not.toMatch(/[\r\n]/);

describe('configuration refuses what it cannot run safely, in one line naming the setting', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-config-error-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses production without GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE', () => {
    const error = refusal({ GATEHOUSE_ENV: 'production', GATEHOUSE_PUBLIC_URL: 'https://auth.example.com' });
    oneLine(error.message);
    expect(error.message).toContain('GATEHOUSE_MASTER_KEY');
    expect(error.message).toContain('GATEHOUSE_MASTER_KEY_FILE');
  });

  it('refuses production with a public URL that is not https, including the http default', () => {
    const key = generateMasterKey();
    const explicit = refusal({
      GATEHOUSE_ENV: 'production',
      GATEHOUSE_MASTER_KEY: key,
      GATEHOUSE_PUBLIC_URL: 'http://auth.example.com',
    });
    oneLine(explicit.message);
    expect(explicit.message).toContain('GATEHOUSE_PUBLIC_URL');
    expect(explicit.message).toContain('https');
    const byDefault = refusal({ GATEHOUSE_ENV: 'production', GATEHOUSE_MASTER_KEY: key });
    expect(byDefault.message).toContain('GATEHOUSE_PUBLIC_URL');
  });

  it('refuses both GATEHOUSE_MASTER_KEY and GATEHOUSE_MASTER_KEY_FILE at once', () => {
    const error = refusal({ GATEHOUSE_MASTER_KEY: generateMasterKey(), GATEHOUSE_MASTER_KEY_FILE: '/tmp/k' });
    oneLine(error.message);
    expect(error.message).toContain('GATEHOUSE_MASTER_KEY_FILE');
  });

  it.each([
    ['GATEHOUSE_PORT', 'abc'],
    ['GATEHOUSE_PORT', '70000'],
    ['GATEHOUSE_PORT', '-1'],
    ['GATEHOUSE_PORT', '80.5'],
    ['GATEHOUSE_ACCESS_TOKEN_TTL', '10x'],
    ['GATEHOUSE_ACCESS_TOKEN_TTL', '0'],
    ['GATEHOUSE_ACCESS_TOKEN_TTL', '10ms'],
    ['GATEHOUSE_ACCESS_TOKEN_TTL', '1 week'],
    ['GATEHOUSE_REFRESH_TOKEN_TTL', '-30d'],
    ['GATEHOUSE_SESSION_IDLE_TIMEOUT', ''],
    ['GATEHOUSE_TRUST_PROXY', 'true'],
    ['GATEHOUSE_TRUST_PROXY', '99'],
    ['GATEHOUSE_DATABASE_URL', 'mongodb://gatehouse@db/gatehouse'],
    ['GATEHOUSE_DATABASE_URL', 'mysql://gatehouse@db:3306'],
    ['GATEHOUSE_DATABASE_URL', 'sqlite:'],
    ['GATEHOUSE_ENV', 'staging'],
    ['GATEHOUSE_SIGNUP', 'maybe'],
    ['GATEHOUSE_PUBLIC_URL', 'not a url'],
    ['GATEHOUSE_PUBLIC_URL', 'ftp://auth.example.com'],
    ['GATEHOUSE_REDIS_URL', 'http://cache:6379'],
    ['GATEHOUSE_CLOCK_SKEW_SECONDS', 'thirty'],
    ['GATEHOUSE_MAX_SESSIONS_PER_USER', '0'],
    ['GATEHOUSE_LOCKOUT_THRESHOLD', 'five'],
    ['GATEHOUSE_EVENT_RETENTION_DAYS', '0'],
    ['GATEHOUSE_LOG_LEVEL', 'verbose'],
    ['GATEHOUSE_SIGNING_ALG', 'none'],
    ['GATEHOUSE_CORS_ORIGINS', 'app.example.com'],
    ['GATEHOUSE_CORS_ORIGINS', 'https://app.example.com/path'],
    ['GATEHOUSE_SHUTDOWN_DRAIN_SECONDS', '301'],
    ['GATEHOUSE_PASSWORD_HASH_CONCURRENCY', '0'],
  ])('refuses %s=%j naming the variable', (name, value) => {
    const error = refusal({ [name]: value });
    oneLine(error.message);
    expect(error.message).toContain(name);
  });

  it('refuses a bad --port flag even when GATEHOUSE_PORT is fine, naming the flag', () => {
    const error = refusal({ GATEHOUSE_PORT: '4000' }, { port: 'abc' });
    expect(error.message).toBe('GATEHOUSE_PORT (--port) must be a whole number from 0 to 65535 (got "abc")');
  });

  it('says what the setting accepts and quotes the refused text', () => {
    expect(refusal({ GATEHOUSE_ACCESS_TOKEN_TTL: 'abc' }).message).toBe(
      'GATEHOUSE_ACCESS_TOKEN_TTL must be a duration such as 600, 30s, 10m or 7d (got "abc")',
    );
    expect(refusal({ GATEHOUSE_SIGNUP: 'maybe' }).message).toBe(
      'GATEHOUSE_SIGNUP must be one of open, closed (got "maybe")',
    );
    expect(refusal({ GATEHOUSE_REDIS_URL: 'http://cache:6379' }).message).toBe(
      'GATEHOUSE_REDIS_URL must be a URL starting redis:// or rediss:// (got "http://cache:6379")',
    );
  });

  it('refuses a host that cannot make the default public URL, naming GATEHOUSE_HOST', () => {
    const error = refusal({ GATEHOUSE_HOST: 'my host' });
    oneLine(error.message);
    expect(error.message).toContain('GATEHOUSE_HOST');
  });

  it.each([
    ['too short', 'c2hvcnQ'],
    ['standard base64 with padding', Buffer.alloc(32, 0xfb).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 7).toString('base64url')],
    ['not base64 at all', 'correct horse battery staple correct horse'],
  ])('refuses a malformed GATEHOUSE_MASTER_KEY (%s), naming it', async (_label, value) => {
    const { masterKey } = loadConfig({ env: { GATEHOUSE_MASTER_KEY: value }, cwd: scratch });
    const failure = await loadMasterKey(masterKey).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    oneLine((failure as Error).message);
    expect((failure as Error).message).toContain('GATEHOUSE_MASTER_KEY');
    expect((failure as Error).message).not.toContain(value);
  });

  it('refuses a GATEHOUSE_MASTER_KEY_FILE that does not exist, and does not create it', async () => {
    const file = path.join(scratch, 'missing', 'master.key');
    const { masterKey } = loadConfig({ env: { GATEHOUSE_MASTER_KEY_FILE: file }, cwd: scratch });
    await expect(loadMasterKey(masterKey)).rejects.toBeInstanceOf(ConfigError);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a damaged data-directory key file instead of replacing it', async () => {
    const dataDir = path.join(scratch, 'damaged');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'master.key'), 'not-a-key\n', { mode: 0o600 });
    const { masterKey } = loadConfig({ env: { GATEHOUSE_DATA_DIR: dataDir }, cwd: scratch });
    await expect(loadMasterKey(masterKey)).rejects.toBeInstanceOf(ConfigError);
    await expect(loadMasterKey(masterKey)).rejects.toThrow(/master key/i);
  });

  it('`gatehouse start` in production without a master key exits non-zero with one line naming GATEHOUSE_MASTER_KEY', async () => {
    const cwd = await mkdtemp(path.join(scratch, 'cli-'));
    const result = await runCli(
      ['start', '--port', '0'],
      { GATEHOUSE_ENV: 'production', GATEHOUSE_PUBLIC_URL: 'https://auth.example.com' },
      cwd,
    );
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('GATEHOUSE_MASTER_KEY');
    // It refused before touching the disk: no data directory, no key file.
    expect(await readdir(cwd)).toEqual([]);
  });

  it('`gatehouse start` with GATEHOUSE_PORT=abc exits non-zero with one line naming GATEHOUSE_PORT', async () => {
    const cwd = await mkdtemp(path.join(scratch, 'cli-'));
    const result = await runCli(['start'], { GATEHOUSE_PORT: 'abc' }, cwd);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('GATEHOUSE_PORT');
  });
});
