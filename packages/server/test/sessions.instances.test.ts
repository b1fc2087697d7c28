import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Two instances on one database: each caches session views for GATEHOUSE_CACHE_SECONDS at most.
describe('a logout on one instance reaches another within the session cache time', () => {
  let database: TestDatabase;
  let first: TestServer;
  let second: TestServer;
  // Instances behind one balancer share the public URL (the issuer) and the database.
  const shared = { GATEHOUSE_CACHE_SECONDS: '1', GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test' };
  beforeAll(async () => {
    database = await createTestDatabase();
    first = await startTestServer(database, { env: shared });
    second = await startTestServer(database, { env: shared });
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
    await database.drop();
  });

  it('refuses the token on the other instance within about a second, and at once on its own', async () => {
    const { access_token } = await signUp(first.url);
    expect((await call(second.url, 'GET', '/v1/auth/me', { token: access_token })).status).toBe(200);

    expect((await call(first.url, 'POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
    expect((await call(first.url, 'GET', '/v1/auth/me', { token: access_token })).body.code).toBe(
      'session_revoked',
    );

    const loggedOutAt = Date.now();
    let reply = await call(second.url, 'GET', '/v1/auth/me', { token: access_token });
    while (reply.status === 200 && Date.now() - loggedOutAt < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reply = await call(second.url, 'GET', '/v1/auth/me', { token: access_token });
    }
    expect(reply.body.code).toBe('session_revoked');
    expect(Date.now() - loggedOutAt).toBeLessThan(1500);
  });
});
