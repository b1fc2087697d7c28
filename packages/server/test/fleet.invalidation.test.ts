import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from './support/admin.js';
import { call, signUp } from './support/http.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { createTestDatabase, sharedDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Several instances are the PostgreSQL deployment; SQLite is the embedded, single-instance one.
// Instances behind one balancer share the public URL (the issuer) and the database. Sessions and keys are
// cached for GATEHOUSE_CACHE_SECONDS (30 s by default): only the change feed makes a change on one
// instance reach the others within a second.
const SHARED = { GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test' };

/** How long until `refused()` holds on the other instance, polling every 25 ms for at most 3 s. */
async function timeUntil(refused: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await refused())) {
    if (Date.now() - start > 3000) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - start;
}

function changesReachTheOtherInstance(label: string, env: () => Record<string, string>, withinMs: number) {
  describe.runIf(sharedDatabase)(`two instances, changes carried by ${label}`, () => {
    let database: TestDatabase;
    let first: TestServer;
    let second: TestServer;
    let admin: string;
    beforeAll(async () => {
      database = await createTestDatabase();
      first = await startTestServer(database, { env: { ...SHARED, ...env() } });
      second = await startTestServer(database, { env: { ...SHARED, ...env() } });
      admin = await adminToken(first);
    });
    afterAll(async () => {
      await Promise.all([first?.close(), second?.close()]);
      await database?.drop();
    });

    const me = (server: TestServer, token: string) => call(server.url, 'GET', '/v1/auth/me', { token });
    const verify = (server: TestServer, key: string) =>
      call(server.url, 'POST', '/v1/keys/verify', { body: { key } });

    it(`a logout on one instance: the token is refused on the other within ${withinMs} ms`, async () => {
      const { access_token } = await signUp(first.url);
      expect((await me(second, access_token)).status).toBe(200);
      expect((await call(first.url, 'POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
      expect((await me(first, access_token)).body.code).toBe('session_revoked');
      const elapsed = await timeUntil(
        async () => (await me(second, access_token)).body.code === 'session_revoked',
      );
      expect(elapsed).toBeLessThan(withinMs);
    });

    it('a disabled user: refused on the other instance in time', async () => {
      const { access_token } = await signUp(first.url);
      const id = (await me(second, access_token)).body.id;
      const patched = await call(second.url, 'PATCH', `/v1/admin/users/${id}`, {
        token: admin,
        body: { disabled: true },
      });
      expect(patched.status, patched.text).toBe(200);
      const elapsed = await timeUntil(async () => (await me(first, access_token)).status === 401);
      expect(elapsed).toBeLessThan(withinMs);
    });

    it('a client suspended on one instance: its key fails on the other in time', async () => {
      const { clientId, key } = await clientWithKey(first, admin);
      const before = await verify(first, key);
      expect(before.body.valid, before.text).toBe(true);
      const suspended = await call(second.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
        token: admin,
        body: { status: 'suspended' },
      });
      expect(suspended.status, suspended.text).toBe(200);
      expect((await verify(second, key)).body.code).toBe('client_inactive');
      const elapsed = await timeUntil(async () => (await verify(first, key)).body.code === 'client_inactive');
      expect(elapsed).toBeLessThan(withinMs);
    });

    it('a key revoked on one instance fails on the other in time', async () => {
      const { keyId, key } = await clientWithKey(first, admin);
      expect((await verify(second, key)).body.valid).toBe(true);
      expect((await call(first.url, 'DELETE', `/v1/admin/keys/${keyId}`, { token: admin })).status).toBe(204);
      const elapsed = await timeUntil(async () => (await verify(second, key)).body.code === 'key_revoked');
      expect(elapsed).toBeLessThan(withinMs);
    });
  });
}

changesReachTheOtherInstance('the database poll', () => ({}), 1000);

// The poll is set to a minute here, so only Redis can carry the change in time.
let redis: RedisServer;
beforeAll(async () => {
  if (sharedDatabase) redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
changesReachTheOtherInstance(
  'Redis pub/sub',
  () => ({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CHANGE_POLL_MS: '60000' }),
  500,
);

describe.runIf(sharedDatabase)('Redis goes away: the database poll still carries changes', () => {
  let database: TestDatabase;
  let ownRedis: RedisServer;
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    ownRedis = await startRedisServer();
    const env = { ...SHARED, GATEHOUSE_REDIS_URL: ownRedis.url };
    first = await startTestServer(database, { env });
    second = await startTestServer(database, { env });
  });
  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    await ownRedis?.stop();
    await database?.drop();
  });

  it('refuses a logged-out token on the other instance within a second, without Redis', async () => {
    const { access_token } = await signUp(first.url);
    expect((await call(second.url, 'GET', '/v1/auth/me', { token: access_token })).status).toBe(200);
    await ownRedis.stop();
    expect((await call(first.url, 'POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
    const elapsed = await timeUntil(
      async () =>
        (await call(second.url, 'GET', '/v1/auth/me', { token: access_token })).body.code ===
        'session_revoked',
    );
    expect(elapsed).toBeLessThan(1000);
  });
});
