import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from '../../server/test/support/admin.js';
import { call, PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient } from '../src/index.js';
import { FAST_RETRY, recorder, sleep } from './support/client.js';

// The auto-logout incident: a front end signed users out while the server was merely restarting.
describe('a signed-in client while the server restarts, goes away, or ends the session', () => {
  let database: TestDatabase;
  let server: TestServer;
  let port: number;
  const clients: GatehouseClient[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database);
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await server.close();
    await database.drop();
  });

  async function signedInClient() {
    const record = recorder();
    const client = createGatehouseClient({ baseUrl: server.url, retry: FAST_RETRY, onRetry: record.onRetry });
    clients.push(client);
    record.watch(client);
    await client.signUp({ email: uniqueEmail('incident'), password: PASSWORD });
    return { client, record, me: () => client.fetch(`${server.url}/v1/auth/me`) };
  }

  it('keeps the session across a restart, and its next call succeeds', async () => {
    const { client, record, me } = await signedInClient();
    const before = await (await me()).json();

    await server.close();
    server = await startTestServer(database, { port });

    const after = await me();
    expect(after.status).toBe(200);
    expect((await after.json()).id).toBe(before.id);
    expect(await client.getSession()).not.toBeNull();
    expect(record.signOuts()).toEqual([]);
  });

  it('retries while the server refuses connections for 10 s, and resumes without a sign-out', async () => {
    const { client, record, me } = await signedInClient();
    await server.close();
    const downAt = Date.now();

    const duringOutage = [me(), sleep(3000).then(me), client.getAccessToken()];
    await sleep(10_000);
    server = await startTestServer(database, { port });

    const [first, later, token] = await Promise.all(duringOutage);
    expect((first as Response).status).toBe(200);
    expect((later as Response).status).toBe(200);
    expect(token).toEqual(expect.any(String));
    // The first call kept trying for the whole outage, with backoff rather than a tight loop.
    const firstCallRetries = record.retries.filter((retry) => retry.url.endsWith('/v1/auth/me'));
    expect(firstCallRetries.length).toBeGreaterThan(5);
    expect(firstCallRetries.length).toBeLessThan(60);
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(10_000);
    expect(record.signOuts()).toEqual([]);
    expect(await client.getSession()).not.toBeNull();
    expect((await me()).status).toBe(200);
  }, 40_000);

  it('gives the caller the error after a bounded number of attempts, still signed in', async () => {
    const record = recorder();
    const client = createGatehouseClient({
      baseUrl: server.url,
      retry: { baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 4, maxElapsedMs: 5000 },
      onRetry: record.onRetry,
    });
    clients.push(client);
    record.watch(client);
    await client.signUp({ email: uniqueEmail('incident'), password: PASSWORD });
    await server.close();
    try {
      const failed = await client.fetch(`${server.url}/v1/auth/me`).catch((error) => error);
      expect(failed).toMatchObject({ name: 'GatehouseClientError', transient: true });
      expect(record.retries).toHaveLength(3);
      expect(record.signOuts()).toEqual([]);
      expect(await client.getSession()).not.toBeNull();
    } finally {
      server = await startTestServer(database, { port });
    }
    expect((await client.fetch(`${server.url}/v1/auth/me`)).status).toBe(200);
  });

  it('signs out exactly once, with session_revoked, when an administrator ends the session', async () => {
    const { client, record, me } = await signedInClient();
    const admin = await adminToken(server);
    const session = await client.getSession();
    const user = session!.user!;
    const revoked = await call(server.url, 'DELETE', `/v1/admin/users/${user.id}/sessions`, { token: admin });
    expect(revoked.status).toBe(200);

    const answers = await Promise.all([me(), me(), me()]);
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401]);
    expect(record.signOuts()).toEqual([{ type: 'signed_out', code: 'session_revoked' }]);
    expect(await client.getSession()).toBeNull();
    await me();
    expect(record.signOuts()).toHaveLength(1);
  });
});
