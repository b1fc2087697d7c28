import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { type TestDatabase, testDialect } from '../../server/test/support/test-database.js';
import { type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient } from '../src/index.js';
import { FAST_RETRY, recorder, sleep } from './support/client.js';

const adminUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A pooler holds a query for its query_wait_timeout (5 s in the tests) before failing it: outlast that. */
const OUTAGE_MS = process.env.GATEHOUSE_TEST_POSTGRES_POOLER_URL ? 6500 : 1000;

async function postgresAdmin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Makes the database unusable the way operators meet it: on SQLite another process holds it locked, on
 * PostgreSQL it refuses connections. Answers the function that gives it back.
 */
async function takeStorageAway(database: TestDatabase): Promise<() => Promise<void>> {
  if (database.dialect === 'sqlite') {
    const intruder = new Database(database.url.slice('sqlite:'.length));
    intruder.pragma('busy_timeout = 0');
    intruder.exec('begin exclusive');
    return async () => {
      intruder.exec('rollback');
      intruder.close();
    };
  }
  const name = new URL(database.url).pathname.slice(1);
  await postgresAdmin(`alter database ${name} allow_connections false`);
  await postgresAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
  return () => postgresAdmin(`alter database ${name} allow_connections true`);
}

describe(`503 storage_unavailable while refreshing (${testDialect})`, () => {
  let server: TestServer;
  let database: TestDatabase;
  // Access tokens live 2 s, so the next call must refresh, and the refresh must write to the database.
  useTestServer(
    {
      env: {
        GATEHOUSE_ACCESS_TOKEN_TTL: '2',
        GATEHOUSE_CLOCK_SKEW_SECONDS: '0',
        GATEHOUSE_CACHE_SECONDS: '0',
      },
    },
    (started) => {
      server = started.server;
      database = started.database;
    },
  );
  const clients: GatehouseClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('is retried with backoff until the database is back, and never signs the user out', async () => {
    const record = recorder();
    const client = createGatehouseClient({
      baseUrl: server.url,
      retry: FAST_RETRY,
      autoRefresh: false,
      onRetry: record.onRetry,
    });
    clients.push(client);
    record.watch(client);
    await client.signUp({ email: uniqueEmail('outage'), password: PASSWORD });
    await sleep(2500);

    const giveBack = await takeStorageAway(database);
    const call = client.fetch(`${server.url}/v1/auth/me`);
    await sleep(OUTAGE_MS);
    await giveBack();

    expect((await call).status).toBe(200);
    // (The server's event loop stalls on the lock, so a kept-alive socket may also drop: retried as well.)
    const refused = record.retries.filter((retry) => retry.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const retry of refused) {
      expect(retry).toMatchObject({ code: 'storage_unavailable' });
      expect(retry.url).toMatch(/\/oauth\/token$/);
      // retry-after: 2 is honoured, not hammered.
      expect(retry.delayMs).toBeGreaterThanOrEqual(2000);
    }
    expect(record.events.map((event) => event.type)).toEqual(['signed_in', 'refreshed']);
  }, 30_000);
});
