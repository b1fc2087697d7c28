import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadiness } from '../src/health/readiness.js';
import { openStore } from '../src/store/database.js';
import { classifyStorageFailure } from '../src/store/storage-errors.js';
import { gatehouseCli } from './support/cli.js';
import { call } from './support/http.js';
import { sharedDatabase, type TestDatabase, takeDatabaseAway, testDialect } from './support/test-database.js';
import { type TestServer, useTestServer } from './support/test-server.js';

// The incident: `gatehouse start` on a database that did not exist printed `storage_unavailable: ` and
// "this is temporary", so the operator waited for something that would never come back by itself.

const PASSWORD_IN_URL = 'hunter2-in-the-url';

interface Case {
  name: string;
  url: (scratch: string) => Promise<string>;
  /** Words the cause must contain. */
  cause: RegExp;
  retryable: boolean;
}

function serverUrl(port?: number, user?: string, database = 'gatehouse'): string {
  const url = new URL(
    testDialect === 'mysql'
      ? (process.env.GATEHOUSE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
      : (process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'),
  );
  if (port) url.port = String(port);
  if (user) {
    url.username = user;
    url.password = PASSWORD_IN_URL;
  }
  url.pathname = `/${database}`;
  return url.href;
}

const CASES: Case[] = [
  {
    name: 'PostgreSQL refusing connections (nothing listens)',
    url: async () => `postgres://gatehouse:${PASSWORD_IN_URL}@127.0.0.1:1/gatehouse`,
    cause: /^connection refused \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
    retryable: true,
  },
  {
    name: 'MariaDB refusing connections (nothing listens)',
    url: async () => `mysql://gatehouse:${PASSWORD_IN_URL}@127.0.0.1:1/gatehouse`,
    cause: /^connection refused \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
    retryable: true,
  },
  {
    name: 'a SQLite file that cannot be opened (a directory in its place)',
    url: async (scratch) => {
      await mkdir(path.join(scratch, 'gatehouse.db'));
      return `sqlite:${path.join(scratch, 'gatehouse.db')}`;
    },
    cause: /^the database file cannot be opened or written \(unable to open database file\)$/,
    retryable: false,
  },
  {
    name: 'a SQLite file whose directory cannot be made (a file in the way)',
    url: async (scratch) => {
      await writeFile(path.join(scratch, 'in-the-way'), '');
      return `sqlite:${path.join(scratch, 'in-the-way', 'gatehouse.db')}`;
    },
    cause: /^the database file cannot be opened or written \(E(EXIST|NOTDIR): .*in-the-way'\)$/,
    retryable: false,
  },
  {
    name: 'a SQLite file that is not a database',
    url: async (scratch) => {
      await writeFile(path.join(scratch, 'gatehouse.db'), 'not a database '.repeat(20));
      return `sqlite:${path.join(scratch, 'gatehouse.db')}`;
    },
    cause: /^the file is not a database, or is damaged \(file is not a database\)$/,
    retryable: false,
  },
  ...(sharedDatabase
    ? [
        {
          name: `a ${testDialect} database that does not exist`,
          url: async () => serverUrl(undefined, undefined, `gatehouse_missing_${process.pid}`),
          cause: /^the database does not exist \(.*gatehouse_missing_\d+.*\)$/,
          retryable: false,
        },
        {
          name: `a ${testDialect} user that does not exist`,
          url: async () => serverUrl(undefined, `nobody_${process.pid}`),
          cause: /^authentication failed \(.*nobody_\d+.*\)$/,
          retryable: false,
        },
      ]
    : []),
];

interface DoctorReport {
  checks: { name: string; ok: boolean | null; detail: string }[];
}

describe('a database Gatehouse cannot use: every command names the cause and says whether to retry', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-unusable-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it.each(CASES)('$name: start and migrate print what doctor says, in one line', async (unusable) => {
    const dataDir = await mkdtemp(path.join(scratch, 'case-'));
    const env = {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_DATABASE_URL: await unusable.url(dataDir),
      GATEHOUSE_LOG_LEVEL: 'silent',
    };
    const [doctor, ...commands] = await Promise.all(
      [['doctor', '--json'], ['migrate'], ['start', '--port', '0']].map((args) => gatehouseCli(args, env)),
    );
    expect(doctor?.code).toBe(1);
    const check = (JSON.parse(doctor?.stdout ?? '') as DoctorReport).checks.find(
      (each) => each.name === 'database',
    );
    const [database, cause, advice] =
      /^(\S+): (.*)\. (Retrying .*)$/.exec(check?.detail ?? '')?.slice(1) ?? [];
    expect(database, check?.detail).toBe(env.GATEHOUSE_DATABASE_URL.replace(PASSWORD_IN_URL, '***'));
    expect(cause).toMatch(unusable.cause);
    expect(advice).toMatch(unusable.retryable ? /^Retrying (helps|can help)/ : /^Retrying will not help: /);

    for (const result of commands) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`gatehouse: ${check?.detail}\n`);
      expect(result.stdout + result.stderr).not.toContain(PASSWORD_IN_URL);
    }
  });
});

describe('/readyz names why the database cannot be used, and never its password', () => {
  let server: TestServer;
  let database: TestDatabase;
  useTestServer({}, (started) => {
    server = started.server;
    database = started.database;
  });

  it('a database that refuses connections: "unreachable: connection refused (…)"', async () => {
    const refusing = openStore(
      { dialect: 'postgres', url: `postgres://gatehouse:${PASSWORD_IN_URL}@127.0.0.1:1/gatehouse` },
      () => {},
    );
    try {
      const readiness = await checkReadiness(refusing.db, server.gatehouse.keyring, false);
      expect(readiness).toEqual({
        status: 'unavailable',
        checks: {
          database: 'unreachable: connection refused (connect ECONNREFUSED 127.0.0.1:1)',
          keys: 'ok',
        },
      });
    } finally {
      await refusing.close();
    }
  });

  it.runIf(sharedDatabase)(`the ${testDialect} database taken away while serving`, async () => {
    const giveBack = await takeDatabaseAway(database);
    try {
      const ready = await call(server.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toMatch(/^unreachable: [a-z ]+ \(.+\)$/);
      expect(ready.body.checks.database).not.toMatch(/cannot be used/);
    } finally {
      await giveBack();
    }
  });
});

describe('a wrong password is named as such, whatever the driver says', () => {
  // Regression: pg's SCRAM failures carry no SQLSTATE, and read as a lost connection that retrying helps.
  it.each([
    ['SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature is missing'],
    ['SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'],
  ])('%s', (message) => {
    expect(classifyStorageFailure(new Error(message))).toMatchObject({
      reason: 'authentication_failed',
      retryable: false,
    });
  });
});
