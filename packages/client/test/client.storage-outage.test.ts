import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { type TestDatabase, takeDatabaseAway, testDialect } from '../../server/test/support/test-database.js';
import { type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient } from '../src/index.js';
import { FAST_RETRY, recorder, sleep } from './support/client.js';

/** A pooler holds a query for its query_wait_timeout (5 s in the tests) before failing it: outlast that. */
const OUTAGE_MS = process.env.GATEHOUSE_TEST_POSTGRES_POOLER_URL ? 6500 : 1000;

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

    const giveBack = await takeDatabaseAway(database);
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
