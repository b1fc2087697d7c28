import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseInstallation } from '../src/doctor/diagnose-installation.js';
import { generateMasterKey, loadMasterKey } from '../src/secrets/master-key.js';
import { gatehouseCli } from './support/cli.js';
import { type PgBouncer, startPgBouncer } from './support/pgbouncer.js';
import {
  createTestDatabase,
  sharedDatabase,
  type TestDatabase,
  testDialect,
} from './support/test-database.js';
import { startTestServer } from './support/test-server.js';

// The incidents: a secret generated at boot, a data directory anyone can read, a key that does not match
// the database — each found by one command before users are thrown out.

interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

interface Report {
  ok: boolean;
  checks: Check[];
}

const CHECKS = [
  'database',
  'migrations',
  ...(testDialect === 'postgres' ? ['pooler'] : []),
  'master key',
  'signing keys',
  'public URL',
  'cookies',
  'clock',
  'data directory',
  'master key file',
];

describe('gatehouse doctor checks the installation', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let healthy: Report;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      GATEHOUSE_DATA_DIR: database.dataDir,
      GATEHOUSE_DATABASE_URL: database.url,
      GATEHOUSE_LOG_LEVEL: 'silent',
    };
    // The first command creates the installation: schema, master key file, signing keys.
    const first = await gatehouseCli(['doctor', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    healthy = JSON.parse(first.stdout) as Report;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('on a healthy installation: exit 0, every check listed and passed', async () => {
    const result = await gatehouseCli(['doctor'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Gatehouse installation [0-9a-f-]{36}\n/);
    for (const name of CHECKS) expect(result.stdout).toMatch(new RegExp(`^ {2}[✔–] ${name} `, 'm'));
    expect(result.stdout).not.toContain('✘');
    expect(result.stdout.trimEnd().endsWith('All checks passed.')).toBe(true);
    expect(result.stdout).toMatch(
      /✔ master key {6}mk_[0-9a-f]{16} from .*master\.key \(data directory\), the key this database was created with/,
    );
    expect(result.stdout).toMatch(
      /✔ signing keys {4}Active \S+ and next \S+ are stored \(sealed\) and published in JWKS/,
    );
    expect(result.stdout).toMatch(/✔ data directory {2}.* \(mode 700\)/);
  });

  it('--json prints {ok, checks} with the same checks, in order', async () => {
    expect(healthy.ok).toBe(true);
    expect(healthy.checks.map((check) => check.name)).toEqual(CHECKS);
    for (const check of healthy.checks) {
      expect(Object.keys(check).sort()).toEqual(['detail', 'name', 'ok']);
      expect(check.ok).not.toBe(false);
    }
    // Flags work as well as variables.
    const viaFlags = await gatehouseCli(
      ['doctor', '--json', '--data-dir', database.dataDir, '--database-url', database.url],
      { GATEHOUSE_LOG_LEVEL: 'silent' },
    );
    expect(viaFlags.code, viaFlags.stderr).toBe(0);
    expect((JSON.parse(viaFlags.stdout) as Report).checks.map((check) => check.name)).toEqual(CHECKS);
  });

  it(
    sharedDatabase
      ? `on ${testDialect} the clock check compares this host with the database server`
      : 'on SQLite the clock check is not applicable: the database shares this host',
    () => {
      const clock = healthy.checks.find((check) => check.name === 'clock');
      if (sharedDatabase) {
        expect(clock?.ok).toBe(true);
        expect(clock?.detail).toMatch(
          /^Server \d{4}-\d\d-\d\dT[\d:.]+Z, database \d{4}-\d\d-\d\dT[\d:.]+Z: \d+s apart$/,
        );
      } else {
        expect(clock?.ok).toBe(null);
        expect(clock?.detail).toContain("the database shares this host's clock");
      }
    },
  );

  it('a world-readable data directory (chmod 755): exit 1, naming the data directory check', async () => {
    await chmod(database.dataDir, 0o755);
    try {
      const result = await gatehouseCli(['doctor'], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        new RegExp(
          `✘ data directory {2}${database.dataDir} is readable by every user \\(mode 755\\); chmod 700 it`,
        ),
      );
      expect(result.stdout.match(/✘/g)).toHaveLength(1);
      expect(result.stdout.trimEnd().endsWith('Some checks failed.')).toBe(true);
      const report = JSON.parse((await gatehouseCli(['doctor', '--json'], env)).stdout) as Report;
      expect(report.ok).toBe(false);
      expect(report.checks.filter((check) => check.ok === false).map((check) => check.name)).toEqual([
        'data directory',
      ]);
    } finally {
      await chmod(database.dataDir, 0o700);
    }
  });

  it('a master key file others can read (chmod 644): exit 1, naming the master key file check', async () => {
    const keyFile = path.join(database.dataDir, 'master.key');
    await chmod(keyFile, 0o644);
    try {
      const result = await gatehouseCli(['doctor'], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`✘ master key file ${keyFile} has mode 644; chmod 600 it`);
    } finally {
      await chmod(keyFile, 0o600);
    }
  });

  it('another GATEHOUSE_MASTER_KEY: exit 1, one failed configuration check naming both fingerprints', async () => {
    const stored = /mk_[0-9a-f]{16}/.exec(
      healthy.checks.find((check) => check.name === 'master key')?.detail ?? '',
    )?.[0];
    expect(stored).toBeDefined();
    const wrongKey = generateMasterKey();
    const wrong = (await loadMasterKey({ kind: 'value', value: wrongKey, origin: 'GATEHOUSE_MASTER_KEY' }))
      .fingerprint;
    expect(wrong).not.toBe(stored);

    const result = await gatehouseCli(['doctor', '--json'], { ...env, GATEHOUSE_MASTER_KEY: wrongKey });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ name: 'configuration', ok: false });
    expect(report.checks[0]?.detail).toContain(`created with master key ${stored}`);
    expect(report.checks[0]?.detail).toContain(`GATEHOUSE_MASTER_KEY is ${wrong}`);
    expect(result.stdout).not.toContain(wrongKey);

    const text = await gatehouseCli(['doctor'], { ...env, GATEHOUSE_MASTER_KEY: wrongKey });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {2}✘ configuration {3}Master key mismatch: /);
    expect(text.stdout).toContain(stored);
    expect(text.stdout).toContain(wrong);

    // Nothing was minted under the wrong key: the right one still passes.
    expect((await gatehouseCli(['doctor'], env)).code).toBe(0);
  });

  // Regression: an invalid setting made `doctor` throw before reporting (no check, no JSON).
  it('an invalid setting: exit 1 with one failed configuration check naming it (--json)', async () => {
    const result = await gatehouseCli(['doctor', '--json'], { ...env, GATEHOUSE_CLOCK_SKEW_SECONDS: 'abc' });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ name: 'configuration', ok: false });
    expect(report.checks[0]?.detail).toContain('GATEHOUSE_CLOCK_SKEW_SECONDS must be a whole number');
  });

  // Regression: a start without the key file minted a new master key next to the existing database.
  it('a data directory without the master key: refused, naming the stored fingerprint, no key file minted', async () => {
    const stored = /mk_[0-9a-f]{16}/.exec(
      healthy.checks.find((check) => check.name === 'master key')?.detail ?? '',
    )?.[0];
    const emptyDataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-doctor-nokey-'));
    try {
      const result = await gatehouseCli(['doctor', '--json'], { ...env, GATEHOUSE_DATA_DIR: emptyDataDir });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.checks).toMatchObject([{ name: 'configuration', ok: false }]);
      expect(report.checks[0]?.detail).toContain(`created with master key ${stored}`);
      const minted = await stat(path.join(emptyDataDir, 'master.key')).then(
        () => true,
        () => false,
      );
      expect(minted, 'a new master.key was written by a refused command').toBe(false);
    } finally {
      await rm(emptyDataDir, { recursive: true, force: true });
    }
  });

  // Regression: an unusable database made `doctor` print a bare storage_unavailable instead of a check.
  it('a database it cannot use: exit 1 with a failed database check (--json)', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-doctor-down-'));
    try {
      // PostgreSQL, MySQL: nothing listens on port 1. SQLite: the file is not a database (SQLITE_NOTADB).
      const notADatabase = path.join(scratch, 'gatehouse.db');
      await writeFile(notADatabase, 'not a database '.repeat(20));
      const url = {
        postgres: 'postgres://postgres@127.0.0.1:1/gatehouse',
        mysql: 'mysql://root@127.0.0.1:1/gatehouse',
        sqlite: `sqlite:${notADatabase}`,
      }[testDialect];
      const result = await gatehouseCli(['doctor', '--json'], {
        GATEHOUSE_DATA_DIR: scratch,
        GATEHOUSE_DATABASE_URL: url,
        GATEHOUSE_LOG_LEVEL: 'silent',
      });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.ok).toBe(false);
      expect(report.checks.find((check) => check.name === 'database')).toMatchObject({ ok: false });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe.runIf(sharedDatabase)(`doctor on ${testDialect}: a host clock off the database clock`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('fails the clock check, naming both times and how far apart they are', async () => {
    const server = await startTestServer(database, { clock: { now: () => Date.now() + 5_000 } });
    try {
      const { gatehouse } = server;
      const report = await diagnoseInstallation(gatehouse);
      expect(report.ok).toBe(false);
      const clock = report.checks.find((check) => check.name === 'clock');
      expect(clock?.ok).toBe(false);
      expect(clock?.detail).toMatch(/^Server \S+Z, database \S+Z: 5s apart; synchronise the clocks \(NTP\)$/);
    } finally {
      await server.close();
    }
  });
});

describe.runIf(testDialect === 'postgres')('doctor on PostgreSQL: a connection pooler', () => {
  let database: TestDatabase;
  let pgbouncer: PgBouncer;
  beforeAll(async () => {
    database = await createTestDatabase();
    pgbouncer = await startPgBouncer();
  });
  afterAll(async () => {
    await pgbouncer?.stop();
    await database?.drop();
  });

  const poolerCheck = async (databaseUrl: string) => {
    const result = await gatehouseCli(['doctor', '--json'], {
      GATEHOUSE_DATA_DIR: database.dataDir,
      GATEHOUSE_DATABASE_URL: databaseUrl,
      GATEHOUSE_LOG_LEVEL: 'silent',
    });
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as Report).checks.find((check) => check.name === 'pooler');
  };

  it('says when there is none, and detects PgBouncer in transaction mode and what works through it', async () => {
    const direct = await poolerCheck(database.directUrl ?? database.url);
    expect(direct).toEqual({
      name: 'pooler',
      ok: true,
      detail: 'None: Gatehouse talks to PostgreSQL directly',
    });
    const pooled = await poolerCheck(pgbouncer.through(database.directUrl ?? database.url));
    expect(pooled?.ok).toBe(true);
    expect(pooled?.detail).toMatch(/^Transaction pooling detected .*Everything works through it/);
    expect(pooled?.detail).toContain('query_wait_timeout');
  });
});
