import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import {
  createTestDatabase,
  sharedDatabase,
  type TestDatabase,
  takeDatabaseAway,
  testDialect,
} from './support/test-database.js';
import { startTestServer, type TestServer, useTestServer } from './support/test-server.js';

// Guards the auto-logout incident: when the server cannot decide, it says 503 (retry), never 401 (sign out).
describe.runIf(sharedDatabase)(`the ${testDialect} database goes away mid-run`, () => {
  let database: TestDatabase;
  let server: TestServer;
  let giveBack: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database, { env: { GATEHOUSE_CACHE_SECONDS: '0' } });
  });
  afterAll(async () => {
    await giveBack?.();
    await server.close();
    await database.drop();
  });

  it('answers 503 storage_unavailable with retry-after, never 401 or 500, and recovers when it is back', async () => {
    const email = uniqueEmail();
    const { access_token, refresh_token } = await signUp(server.url, email);

    giveBack = await takeDatabaseAway(database);

    const during = await Promise.all([
      call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } }),
      call(server.url, 'GET', '/v1/auth/me', { token: access_token }),
      call(server.url, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token } }),
      call(server.url, 'POST', '/v1/auth/signup', { body: { email: uniqueEmail(), password: PASSWORD } }),
    ]);
    for (const reply of during) {
      expect(reply.status, reply.text).toBe(503);
      expect(reply.headers.get('retry-after')).toBeTruthy();
    }
    expect(during[0]!.body.code).toBe('storage_unavailable');
    expect(during[0]!.body.action).toBe('retry');
    expect(during[2]!.body).toMatchObject({ error: 'temporarily_unavailable', code: 'storage_unavailable' });

    const ready = await call(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).toMatch(/unreachable/);
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
    const tampered = await call(server.url, 'GET', '/v1/auth/me', {
      token: `${access_token.slice(0, -4)}AAAA`,
    });
    expect(tampered.body.code).toBe('token_signature_invalid');

    await giveBack();
    giveBack = undefined;
    // A pooler between them (PgBouncer's server_login_retry) may hold the failure for a moment.
    await expect
      .poll(async () => (await call(server.url, 'GET', '/readyz')).status, { timeout: 10_000, interval: 250 })
      .toBe(200);
    expect(
      (await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).status,
    ).toBe(200);
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: access_token })).status).toBe(200);
  });
});

// On SQLite the failure an operator meets is a database another process holds locked (a stuck writer, a
// backup tool): a write waits for the busy timeout, then must answer 503, never 500 or 401.
describe.runIf(testDialect === 'sqlite')('the SQLite database is locked by another process', () => {
  let database: TestDatabase;
  let server: TestServer;
  useTestServer({}, ({ server: started, database: startedDatabase }) => {
    server = started;
    database = startedDatabase;
  });

  it('answers a login 503 storage_unavailable with retry-after while the lock is held, and recovers after', async () => {
    const email = uniqueEmail();
    await signUp(server.url, email);
    const intruder = new Database(database.url.slice('sqlite:'.length));
    intruder.pragma('busy_timeout = 0');
    intruder.exec('begin exclusive');
    try {
      const refused = await call(server.url, 'POST', '/v1/auth/login', {
        body: { email, password: PASSWORD },
      });
      expect(refused.status, refused.text).toBe(503);
      expect(refused.body).toMatchObject({ code: 'storage_unavailable', action: 'retry' });
      expect(refused.headers.get('retry-after')).toBeTruthy();
    } finally {
      intruder.exec('rollback');
      intruder.close();
    }
    expect(
      (await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).status,
    ).toBe(200);
  }, 20_000);
});
