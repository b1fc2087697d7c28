import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { generateMasterKey, loadMasterKey } from '../src/secrets/master-key.js';

describe('configuration: defaults, overrides and the master key', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-config-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('serves on 127.0.0.1:4000 with SQLite inside ./.gatehouse of the working directory by default', () => {
    const cwd = path.join(scratch, 'project');
    const config = loadConfig({ env: {}, cwd });
    expect(config.env).toBe('development');
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe(path.join(cwd, '.gatehouse'));
    expect(config.database).toEqual({
      dialect: 'sqlite',
      path: path.join(cwd, '.gatehouse', 'gatehouse.db'),
    });
    expect(config.masterKey).toEqual({
      kind: 'file',
      path: path.join(cwd, '.gatehouse', 'master.key'),
      origin: 'data directory',
      createIfMissing: true,
    });
    expect(config.issuer).toBe('http://127.0.0.1:4000');
    expect(config.tokenAudience).toEqual(['http://127.0.0.1:4000']);
    expect(config.redisUrl).toBeUndefined();
    expect(config.signup).toBe('open');
    expect(config.trustProxy).toBe(false);
    expect(config.corsOrigins).toEqual([]);
    expect(config.clockSkewSeconds).toBe(30);
  });

  it('has the documented setting defaults (API.md "Settings")', () => {
    const config = loadConfig({ env: {}, cwd: scratch });
    expect(config.accessTokenTtl).toBe(600);
    expect(config.refreshTokenTtl).toBe(30 * 86_400);
    expect(config.refreshGraceSeconds).toBe(10);
    expect(config.sessionIdleTimeout).toBe(7 * 86_400);
    expect(config.sessionAbsoluteTimeout).toBe(30 * 86_400);
    expect(config.maxSessionsPerUser).toBe(20);
    expect(config.lockoutThreshold).toBe(5);
    expect(config.agentHeartbeatTimeout).toBe(90);
    expect(config.eventRetentionDays).toBe(30);
    expect(config.logLevel).toBe('info');
  });

  it("names the installation by GATEHOUSE_NAME, or else by the public URL's host", () => {
    expect(loadConfig({ env: {}, cwd: scratch }).name).toBe('127.0.0.1');
    expect(loadConfig({ env: { GATEHOUSE_PUBLIC_URL: 'https://auth.acme.test' }, cwd: scratch }).name).toBe(
      'auth.acme.test',
    );
    expect(loadConfig({ env: { GATEHOUSE_PUBLIC_URL: 'http://[::1]:4000' }, cwd: scratch }).name).toBe(
      'Gatehouse',
    );
    expect(loadConfig({ env: { GATEHOUSE_NAME: 'Acme Accounts' }, cwd: scratch }).name).toBe('Acme Accounts');
    expect(() => loadConfig({ env: { GATEHOUSE_NAME: 'Acme: Accounts' }, cwd: scratch })).toThrow(
      /GATEHOUSE_NAME/,
    );
  });

  it('reads durations as seconds or with an s/m/h/d unit', () => {
    const config = loadConfig({
      cwd: scratch,
      env: {
        GATEHOUSE_ACCESS_TOKEN_TTL: '10m',
        GATEHOUSE_SESSION_IDLE_TIMEOUT: '7d',
        GATEHOUSE_REFRESH_TOKEN_TTL: '600',
        GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT: '12h',
        GATEHOUSE_AGENT_HEARTBEAT_TIMEOUT: '30s',
      },
    });
    expect(config.accessTokenTtl).toBe(600);
    expect(config.sessionIdleTimeout).toBe(604_800);
    expect(config.refreshTokenTtl).toBe(600);
    expect(config.sessionAbsoluteTimeout).toBe(43_200);
    expect(config.agentHeartbeatTimeout).toBe(30);
  });

  it('takes every setting from its GATEHOUSE_* variable', () => {
    const config = loadConfig({
      cwd: scratch,
      env: {
        GATEHOUSE_PORT: '8080',
        GATEHOUSE_HOST: '0.0.0.0',
        GATEHOUSE_DATA_DIR: 'var/gh',
        GATEHOUSE_DATABASE_URL: 'postgres://gh:secret@db.internal:5432/gatehouse',
        GATEHOUSE_REDIS_URL: 'redis://cache:6379',
        GATEHOUSE_SIGNUP: 'closed',
        GATEHOUSE_TOKEN_AUDIENCE: 'https://api.example.com, https://other.example.com',
        GATEHOUSE_TRUST_PROXY: '2',
        GATEHOUSE_CORS_ORIGINS: 'https://app.example.com',
      },
    });
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe(path.join(scratch, 'var', 'gh'));
    expect(config.database).toEqual({
      dialect: 'postgres',
      url: 'postgres://gh:secret@db.internal:5432/gatehouse',
    });
    expect(config.redisUrl).toBe('redis://cache:6379');
    // A wildcard bind address is not a URL anyone can reach; the issuer falls back to loopback.
    expect(config.issuer).toBe('http://127.0.0.1:8080');
    expect(config.tokenAudience).toEqual(['https://api.example.com', 'https://other.example.com']);
    expect(config.signup).toBe('closed');
    expect(config.trustProxy).toBe(2);
    expect(config.corsOrigins).toEqual(['https://app.example.com']);
  });

  it('lets flags override the environment', () => {
    const config = loadConfig({
      cwd: scratch,
      env: {
        GATEHOUSE_PORT: '8080',
        GATEHOUSE_HOST: '10.0.0.1',
        GATEHOUSE_DATA_DIR: '/from/env',
        GATEHOUSE_DATABASE_URL: 'postgres://env@db/gatehouse',
      },
      flags: { port: '9090', host: '127.0.0.2', dataDir: 'from-flag', databaseUrl: 'sqlite:flag.db' },
    });
    expect(config.port).toBe(9090);
    expect(config.host).toBe('127.0.0.2');
    expect(config.dataDir).toBe(path.join(scratch, 'from-flag'));
    expect(config.database).toEqual({ dialect: 'sqlite', path: path.join(scratch, 'flag.db') });
    expect(config.issuer).toBe('http://127.0.0.2:9090');
  });

  it('keeps the SQLite database inside a data directory given by flag', () => {
    const config = loadConfig({ cwd: scratch, env: {}, flags: { dataDir: '/srv/gatehouse' } });
    expect(config.database).toEqual({ dialect: 'sqlite', path: '/srv/gatehouse/gatehouse.db' });
    expect(config.masterKey).toMatchObject({ path: '/srv/gatehouse/master.key' });
  });

  it('accepts a plain file path and sqlite:PATH as the database, resolved against the working directory', () => {
    expect(loadConfig({ cwd: scratch, env: { GATEHOUSE_DATABASE_URL: 'data/app.db' } }).database).toEqual({
      dialect: 'sqlite',
      path: path.join(scratch, 'data', 'app.db'),
    });
    expect(
      loadConfig({ cwd: scratch, env: { GATEHOUSE_DATABASE_URL: 'sqlite:/abs/app.db' } }).database,
    ).toEqual({ dialect: 'sqlite', path: '/abs/app.db' });
  });

  it('accepts mysql:// and mariadb:// URLs as the MySQL/MariaDB dialect', () => {
    for (const url of ['mysql://gh:secret@db:3306/gatehouse', 'mariadb://gh@db/gatehouse']) {
      expect(loadConfig({ cwd: scratch, env: { GATEHOUSE_DATABASE_URL: url } }).database).toEqual({
        dialect: 'mysql',
        url,
      });
    }
  });

  it('uses GATEHOUSE_PUBLIC_URL as the issuer without a trailing slash, and as the default audience', () => {
    const config = loadConfig({ cwd: scratch, env: { GATEHOUSE_PUBLIC_URL: 'https://auth.example.com/' } });
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.tokenAudience).toEqual(['https://auth.example.com']);
  });

  it('brackets an IPv6 host in the default public URL', () => {
    const config = loadConfig({ cwd: scratch, env: { GATEHOUSE_HOST: '::1', GATEHOUSE_PORT: '4001' } });
    expect(config.issuer).toBe('http://[::1]:4001');
  });

  it('starts in production with a master key and an https public URL', () => {
    const config = loadConfig({
      cwd: scratch,
      env: {
        GATEHOUSE_ENV: 'production',
        GATEHOUSE_MASTER_KEY: generateMasterKey(),
        GATEHOUSE_PUBLIC_URL: 'https://auth.example.com',
      },
    });
    expect(config.env).toBe('production');
    expect(config.masterKey.kind).toBe('value');
    const fromFile = loadConfig({
      cwd: scratch,
      env: {
        GATEHOUSE_ENV: 'production',
        GATEHOUSE_MASTER_KEY_FILE: 'secrets/master.key',
        GATEHOUSE_PUBLIC_URL: 'https://auth.example.com',
      },
    });
    expect(fromFile.masterKey).toEqual({
      kind: 'file',
      path: path.join(scratch, 'secrets', 'master.key'),
      origin: 'GATEHOUSE_MASTER_KEY_FILE',
      createIfMissing: false,
    });
  });

  it('is frozen once loaded, down to its lists and nested values', () => {
    const config = loadConfig({ cwd: scratch, env: { GATEHOUSE_TRUST_PROXY: '10.0.0.0/8' } });
    for (const value of [
      config,
      config.database,
      config.masterKey,
      config.tokenAudience,
      config.trustProxy,
      config.corsOrigins,
      config.passwordHashing,
    ]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
  });

  it('treats an empty variable as unset for a setting whose default is worked out at start', () => {
    const config = loadConfig({
      cwd: scratch,
      env: { GATEHOUSE_REDIS_URL: '', GATEHOUSE_MASTER_KEY: '', GATEHOUSE_TOKEN_AUDIENCE: '' },
    });
    expect(config.redisUrl).toBeUndefined();
    expect(config.masterKey).toMatchObject({ origin: 'data directory' });
    expect(config.tokenAudience).toEqual([config.issuer]);
  });

  it('drains 5 s on shutdown in production and not at all otherwise, unless told', () => {
    const production = {
      GATEHOUSE_ENV: 'production',
      GATEHOUSE_MASTER_KEY: generateMasterKey(),
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.com',
    };
    expect(loadConfig({ cwd: scratch, env: production }).shutdownDrainSeconds).toBe(5);
    expect(loadConfig({ cwd: scratch, env: {} }).shutdownDrainSeconds).toBe(0);
    expect(
      loadConfig({ cwd: scratch, env: { ...production, GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '30' } })
        .shutdownDrainSeconds,
    ).toBe(30);
  });

  it('creates the embedded master key file once, mode 0600, and reuses the same key afterwards', async () => {
    const dataDir = path.join(scratch, 'embedded');
    const { masterKey: source } = loadConfig({ cwd: scratch, env: { GATEHOUSE_DATA_DIR: dataDir } });
    const first = await loadMasterKey(source);
    expect(first.created).toBe(true);
    const file = path.join(dataDir, 'master.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const second = await loadMasterKey(source);
    expect(second.created).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(await readFile(file, 'utf8')).toBe(text);
    expect(Buffer.from(second.subkey('refresh-tokens'))).toEqual(Buffer.from(first.subkey('refresh-tokens')));
  });

  it('gives different purposes different subkeys and different keys different fingerprints', async () => {
    const a = await loadMasterKey({
      kind: 'value',
      value: generateMasterKey(),
      origin: 'GATEHOUSE_MASTER_KEY',
    });
    const b = await loadMasterKey({
      kind: 'value',
      value: generateMasterKey(),
      origin: 'GATEHOUSE_MASTER_KEY',
    });
    expect(a.fingerprint).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(Buffer.from(a.subkey('signing-keys'))).not.toEqual(Buffer.from(a.subkey('refresh-tokens')));
  });

  it('neither reads nor writes the data directory key file when GATEHOUSE_MASTER_KEY is set', async () => {
    const dataDir = path.join(scratch, 'explicit');
    const value = generateMasterKey();
    const { masterKey: source } = loadConfig({
      cwd: scratch,
      env: { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_MASTER_KEY: value },
    });
    const key = await loadMasterKey(source);
    const again = await loadMasterKey({
      kind: 'value',
      value: ` ${value}\n`,
      origin: 'GATEHOUSE_MASTER_KEY',
    });
    expect(key.created).toBe(false);
    expect(again.fingerprint).toBe(key.fingerprint);
    await expect(stat(path.join(dataDir, 'master.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
