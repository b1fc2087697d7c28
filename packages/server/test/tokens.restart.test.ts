import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Guards the incident where a random signing secret at boot logged everyone out at each restart.
describe('tokens survive a restart', () => {
  let database: TestDatabase;
  let server: TestServer | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await server?.close();
    await database.drop();
  });

  it('accepts an access token and its refresh token issued before the restart', async () => {
    server = await startTestServer(database);
    const port = Number(new URL(server.url).port);
    const before = await signUp(server.url);
    const kidBefore = JSON.parse(Buffer.from(before.access_token.split('.')[0]!, 'base64url').toString()).kid;
    await server.close();

    server = await startTestServer(database, { port });
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: before.access_token });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(before.user.id);

    const refreshed = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: before.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    const kidAfter = JSON.parse(
      Buffer.from(refreshed.body.access_token.split('.')[0], 'base64url').toString(),
    ).kid;
    expect(kidAfter).toBe(kidBefore);
    expect(
      (await call(server.url, 'GET', '/v1/auth/me', { token: refreshed.body.access_token })).status,
    ).toBe(200);
  });
});
