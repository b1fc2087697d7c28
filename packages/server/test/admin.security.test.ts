import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

type Victim = Awaited<ReturnType<typeof signUp>>;

/** Every admin route, aimed at a real user and session so a missing guard would have an effect to see. */
const adminRoutes = (victim: Victim): [string, string, unknown?][] => [
  ['GET', '/v1/admin/users'],
  ['GET', `/v1/admin/users?email=${encodeURIComponent(victim.user.email)}`],
  ['GET', `/v1/admin/users/${victim.user.id}`],
  ['PATCH', `/v1/admin/users/${victim.user.id}`, { disabled: true, roles: ['admin'] }],
  ['DELETE', `/v1/admin/users/${victim.user.id}`],
  ['GET', `/v1/admin/users/${victim.user.id}/sessions`],
  ['DELETE', `/v1/admin/users/${victim.user.id}/sessions/${victim.session_id}`],
  ['DELETE', `/v1/admin/users/${victim.user.id}/sessions`],
];

describe('admin endpoints and introspection need an admin', () => {
  let database: TestDatabase;
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database);
    const email = uniqueEmail('admin');
    await server.gatehouse.users.ensureAdmin(email, PASSWORD);
    const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    admin = login.body.access_token;
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  /** The victim still exists, is enabled, is no admin, and its session still works. */
  async function expectUntouched(victim: Victim) {
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: victim.access_token });
    expect(me.status).toBe(200);
    expect(me.body.roles).toEqual([]);
    const stored = await call(server.url, 'GET', `/v1/admin/users/${victim.user.id}`, { token: admin });
    expect(stored.body).toMatchObject({ disabled: false, roles: [] });
  }

  it('answers a non-admin token on every admin route with 403 scope_insufficient and no effect', async () => {
    const victim = await signUp(server.url);
    const intruder = await signUp(server.url);
    for (const [method, path, body] of adminRoutes(victim)) {
      const reply = await call(server.url, method, path, {
        token: intruder.access_token,
        ...(body !== undefined ? { body } : {}),
      });
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(reply.body.code).toBe('scope_insufficient');
      expect(reply.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      expect(reply.text).not.toContain(victim.user.email);
    }
    await expectUntouched(victim);
    // The intruder's own session is fine: 403 is "valid but not allowed", not a sign-out.
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: intruder.access_token })).status).toBe(200);
  });

  it('answers no token on every admin route with 401 token_missing and a realm-only challenge', async () => {
    const victim = await signUp(server.url);
    for (const [method, path, body] of adminRoutes(victim)) {
      const reply = await call(server.url, method, path, body !== undefined ? { body } : {});
      expect(reply.status, `${method} ${path}`).toBe(401);
      expect(reply.body.code).toBe('token_missing');
      expect(reply.headers.get('www-authenticate')).toBe(`Bearer realm="${server.gatehouse.config.issuer}"`);
    }
    await expectUntouched(victim);
  });

  it('answers a forged or revoked token on admin routes with 401 and the reason', async () => {
    const victim = await signUp(server.url);
    const [header, payload] = admin.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    const bad = await call(server.url, 'GET', '/v1/admin/users', { token: forged });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('token_signature_invalid');

    const email = uniqueEmail('former-admin');
    await server.gatehouse.users.ensureAdmin(email, PASSWORD);
    const formerAdmin = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password: PASSWORD },
    });
    const token = formerAdmin.body.access_token as string;
    expect((await call(server.url, 'GET', '/v1/admin/users', { token })).status).toBe(200);
    expect((await call(server.url, 'POST', '/v1/auth/logout', { token })).status).toBe(204);
    const reply = await call(server.url, 'DELETE', `/v1/admin/users/${victim.user.id}`, { token });
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('session_revoked');
    expect(reply.headers.get('www-authenticate')).toContain('error_description="session_revoked"');
    await expectUntouched(victim);
  });

  it('stops a disabled admin at once, even with a token that still carries the admin scope', async () => {
    const email = uniqueEmail('rogue-admin');
    const { user } = await server.gatehouse.users.ensureAdmin(email, PASSWORD);
    const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    const token = login.body.access_token as string;
    const disabled = await call(server.url, 'PATCH', `/v1/admin/users/${user.id}`, {
      token: admin,
      body: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    const reply = await call(server.url, 'GET', '/v1/admin/users', { token });
    expect(reply.status).toBe(401);
    expect(['user_disabled', 'session_revoked']).toContain(reply.body.code);
  });

  it('does not let a user make themselves admin', async () => {
    const self = await signUp(server.url);
    const reply = await call(server.url, 'PATCH', `/v1/admin/users/${self.user.id}`, {
      token: self.access_token,
      body: { roles: ['admin'] },
    });
    expect(reply.status).toBe(403);
    await expectUntouched(self);
  });

  describe('POST /oauth/introspect', () => {
    it('needs a token (401 token_missing) and the admin role (403 scope_insufficient)', async () => {
      const user = await signUp(server.url);
      const anonymous = await call(server.url, 'POST', '/oauth/introspect', {
        form: { token: user.access_token },
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('token_missing');
      expect(anonymous.text).not.toContain('active');

      const self = await call(server.url, 'POST', '/oauth/introspect', {
        token: user.access_token,
        form: { token: user.access_token },
      });
      expect(self.status).toBe(403);
      expect(self.body.code).toBe('scope_insufficient');
      expect(self.text).not.toContain(user.user.id);
    });

    it('describes a live access token, then reports it inactive with session_revoked after logout', async () => {
      const user = await signUp(server.url);
      const live = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        form: { token: user.access_token, token_type_hint: 'access_token' },
      });
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({
        active: true,
        sub: user.user.id,
        scope: 'openid profile email',
        token_type: 'access_token',
        iss: server.gatehouse.config.issuer,
      });
      expect(live.body.exp - live.body.iat).toBe(600);

      const adminSelf = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        body: { token: admin },
      });
      expect(adminSelf.body.active).toBe(true);
      expect(adminSelf.body.scope.split(' ')).toContain('admin');

      expect((await call(server.url, 'POST', '/v1/auth/logout', { token: user.access_token })).status).toBe(
        204,
      );
      const after = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        form: { token: user.access_token },
      });
      expect(after.status).toBe(200);
      expect(after.body).toEqual({ active: false, code: 'session_revoked' });
    });

    it('describes a refresh token, and answers garbage with active:false and a reason', async () => {
      const user = await signUp(server.url);
      const refresh = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        form: { token: user.refresh_token },
      });
      expect(refresh.body).toMatchObject({ active: true, sub: user.user.id, token_type: 'refresh_token' });

      const garbage = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        form: { token: 'not-a-token' },
      });
      expect(garbage.status).toBe(200);
      expect(garbage.body).toEqual({ active: false, code: 'token_malformed' });
      const unknownRefresh = await call(server.url, 'POST', '/oauth/introspect', {
        token: admin,
        form: { token: 'grt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      });
      expect(unknownRefresh.body.active).toBe(false);
      expect(unknownRefresh.body.code).toEqual(expect.any(String));
    });
  });
});
