import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient } from '../src/index.js';
import { countingFetch, FAST_RETRY, recorder, sleep } from './support/client.js';

const TEN_MINUTES = 10 * 60_000;

describe('a device whose clock is 10 minutes off', () => {
  let server: TestServer;
  // Tokens live 10 s and the server allows no leeway, so a late refresh shows up as a 401 token_expired.
  useTestServer(
    { env: { GATEHOUSE_ACCESS_TOKEN_TTL: '10', GATEHOUSE_CLOCK_SKEW_SECONDS: '0' } },
    (started) => {
      server = started.server;
    },
  );
  const clients: GatehouseClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  async function runFor(ms: number, skewMs: number) {
    const counter = countingFetch();
    const record = recorder();
    const client = createGatehouseClient({
      baseUrl: server.url,
      fetch: counter.fetch,
      now: () => Date.now() + skewMs,
      retry: FAST_RETRY,
      onRetry: record.onRetry,
    });
    clients.push(client);
    record.watch(client);
    await client.signUp({ email: uniqueEmail('skew'), password: PASSWORD });
    const statuses: number[] = [];
    const until = Date.now() + ms;
    while (Date.now() < until) {
      statuses.push((await client.fetch(`${server.url}/v1/auth/me`)).status);
      await sleep(500);
    }
    return { statuses, counter, record, skewMs, session: await client.getSession() };
  }

  it('refreshes on schedule (about every half lifetime) whether fast or slow: no loop, no early sign-out', async () => {
    const [fast, slow] = await Promise.all([runFor(12_000, TEN_MINUTES), runFor(12_000, -TEN_MINUTES)]);
    for (const run of [fast, slow]) {
      expect(new Set(run.statuses)).toEqual(new Set([200]));
      // Due at 5 s and 10 s of a 12 s run; a clock read without correction would refresh on every call
      // (fast) or let the token lapse into 401 token_expired (slow).
      const refreshes = run.counter.count('POST /oauth/token');
      expect(refreshes).toBeGreaterThanOrEqual(2);
      expect(refreshes).toBeLessThanOrEqual(3);
      expect(run.counter.statuses).not.toContain(401);
      expect(run.record.signOuts()).toEqual([]);
      expect(run.record.retries).toEqual([]);
      expect(run.session).not.toBeNull();
      // The session reports expiry on the device's own clock, where the device's timers run.
      const deviceNow = Date.now() + run.skewMs;
      expect(Math.abs(run.session!.accessTokenExpiresAt!.getTime() - deviceNow)).toBeLessThan(10_000);
    }
  }, 30_000);
});
