import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordApiKeyUse } from '../src/store/api-keys-store.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { createTestDatabase, sharedDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Three instances behind one balancer: a client that spreads its attempts over them meets one limit, and
// one lockout counter, not three. Redis holds the per-IP counters; when it goes away the database does.
describe.runIf(sharedDatabase)('limits and lockouts across three instances', () => {
  let database: TestDatabase;
  let redis: RedisServer;
  let instances: TestServer[];
  const env = () => ({
    GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test',
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_LOGIN_RATE_LIMIT: '6',
    GATEHOUSE_LOCKOUT_THRESHOLD: '5',
  });
  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startRedisServer();
    instances = [];
    for (let i = 0; i < 3; i++) instances.push(await startTestServer(database, { env: env() }));
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await redis?.stop();
    await database?.drop();
  });

  const login = (instance: TestServer, email: string, password: string) =>
    call(instance.url, 'POST', '/v1/auth/login', { body: { email, password } });
  /** Six attempts spread over the three instances, then the seventh on each: all refused. */
  const exhaustTheLimit = async () => {
    for (let i = 0; i < 6; i++) {
      const reply = await login(instances[i % 3]!, uniqueEmail('ghost'), 'wrong');
      expect(reply.status, reply.text).toBe(401);
    }
    for (const instance of instances) {
      const refused = await login(instance, uniqueEmail('ghost'), 'wrong');
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  };

  /**
   * A key limited to six checks a minute, checked six times over the three instances, then once on each.
   * (Made in-process: this address has used up its logins.)
   */
  const exhaustAKeysLimit = async () => {
    const { gatehouse } = instances[0]!;
    const client = await gatehouse.clients.create({ name: 'metered fleet' });
    const { key } = await gatehouse.apiKeys.create(client.id, {
      name: 'metered',
      rateLimit: { limit: 6, window_seconds: 60 },
    });
    const verify = (instance: TestServer) => call(instance.url, 'POST', '/v1/keys/verify', { body: { key } });
    for (let i = 0; i < 6; i++) expect((await verify(instances[i % 3]!)).body.valid).toBe(true);
    for (const instance of instances) {
      expect((await verify(instance)).body).toMatchObject({ valid: false, code: 'rate_limited' });
    }
  };

  it('the per-IP limit counts requests on every instance together (Redis)', async () => {
    await exhaustTheLimit();
  });

  it("a key's own limit counts its checks on every instance together (Redis)", async () => {
    await exhaustAKeysLimit();
  });

  it('with Redis stopped, the limits still hold: the database counts', async () => {
    await redis.stop();
    // The database's window for this address starts at its first request there: the same six, then 429.
    await exhaustTheLimit();
    await exhaustAKeysLimit();
  });
});

describe.runIf(sharedDatabase)('one lockout counter across three instances', () => {
  let database: TestDatabase;
  let instances: TestServer[];
  beforeAll(async () => {
    database = await createTestDatabase();
    instances = [];
    const env = { GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test', GATEHOUSE_LOCKOUT_THRESHOLD: '5' };
    for (let i = 0; i < 3; i++) instances.push(await startTestServer(database, { env }));
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await database?.drop();
  });

  const login = (instance: TestServer, email: string, password: string) =>
    call(instance.url, 'POST', '/v1/auth/login', { body: { email, password } });

  it('failed logins spread over the instances add up to one lockout', async () => {
    const email = uniqueEmail('spread');
    await signUp(instances[0]!.url, email);
    for (const i of [0, 1, 2, 0, 1]) expect((await login(instances[i]!, email, 'not it')).status).toBe(401);
    const locked = await login(instances[2]!, email, PASSWORD);
    expect(locked.status).toBe(401);
    const admin = await adminToken(instances[0]!);
    // Asked of the instance that answered: it writes its queued events before it reads.
    const events = await call(
      instances[2]!.url,
      'GET',
      `/v1/admin/events?request_id=${locked.body.request_id}`,
      {
        token: admin,
      },
    );
    expect(events.body.events[0]).toMatchObject({ type: 'login', code: 'account_locked' });
  });
});

describe.runIf(sharedDatabase)('last-use batches from several instances', () => {
  let database: TestDatabase;
  let instances: TestServer[];
  beforeAll(async () => {
    database = await createTestDatabase();
    instances = [await startTestServer(database), await startTestServer(database)];
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await database?.drop();
  });

  it('overlapping batches written at once never deadlock', async () => {
    const admin = await adminToken(instances[0]!);
    const { clientId } = await clientWithKey(instances[0]!, admin);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const key = await call(instances[0]!.url, 'POST', `/v1/admin/clients/${clientId}/keys`, {
        token: admin,
        body: { name: `k${i}`, scopes: ['agent'] },
      });
      ids.push(key.body.id);
    }
    // Each instance holds the same keys in a different order, as their own traffic would have noted them.
    const batch = (order: string[], at: number) => new Map(order.map((id) => [id, at]));
    for (let round = 0; round < 10; round++) {
      const at = Date.now() + round;
      await Promise.all([
        recordApiKeyUse(instances[0]!.gatehouse.store.db, batch(ids, at)),
        recordApiKeyUse(instances[1]!.gatehouse.store.db, batch([...ids].reverse(), at + 1)),
      ]);
    }
  });
});
