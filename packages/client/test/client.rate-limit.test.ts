import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient } from '../src/index.js';
import { countingFetch, FAST_RETRY, recorder, sleep } from './support/client.js';

// Its own file: the server's rate-limit window is a real minute, so this test waits most of one while the
// other files run.
describe('429 rate_limited on the token endpoint', () => {
  let server: TestServer;
  useTestServer(
    {
      env: {
        GATEHOUSE_TOKEN_RATE_LIMIT: '1',
        GATEHOUSE_ACCESS_TOKEN_TTL: '2',
        GATEHOUSE_CLOCK_SKEW_SECONDS: '0',
      },
    },
    (started) => {
      server = started.server;
    },
  );
  const clients: GatehouseClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  async function client(retry: Parameters<typeof createGatehouseClient>[0]['retry']) {
    const record = recorder();
    const counter = countingFetch();
    const created = createGatehouseClient({
      baseUrl: server.url,
      fetch: counter.fetch,
      retry,
      autoRefresh: false,
      onRetry: record.onRetry,
    });
    clients.push(created);
    record.watch(created);
    await created.signUp({ email: uniqueEmail('limited'), password: PASSWORD });
    return { client: created, record, counter, me: () => created.fetch(`${server.url}/v1/auth/me`) };
  }

  it('waits for retry-after, then succeeds, without a sign-out', async () => {
    // The first refresh of this minute uses the address's whole allowance.
    const first = await client(FAST_RETRY);
    await sleep(2500);
    expect((await first.me()).status).toBe(200);

    // A client whose budget is shorter than retry-after gives up at once: no hammering, still signed in.
    const impatient = await client({ ...FAST_RETRY, maxElapsedMs: 5000 });
    await sleep(2500);
    const refused = await impatient.me().catch((error) => error);
    expect(refused).toMatchObject({ code: 'rate_limited', status: 429, transient: true });
    expect(impatient.counter.count('POST /oauth/token')).toBe(1);
    expect(impatient.record.signOuts()).toEqual([]);
    expect(await impatient.client.getSession()).not.toBeNull();

    // A patient one waits as long as the server asked, once, then gets through.
    const patient = await client({ ...FAST_RETRY, maxElapsedMs: 90_000 });
    await sleep(2500);
    const startedAt = Date.now();
    expect((await patient.me()).status).toBe(200);
    expect(patient.record.retries).toHaveLength(1);
    expect(patient.record.retries[0]).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(patient.record.retries[0]!.delayMs);
    expect(patient.counter.count('POST /oauth/token')).toBe(2);
    expect(patient.record.signOuts()).toEqual([]);
    expect(patient.record.events.map((event) => event.type)).toEqual(['signed_in', 'refreshed']);
  }, 120_000);
});
