import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_ROLES } from '../src/users/users.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('administration of people', () => {
  let database: TestDatabase;
  let server: TestServer;
  let admin: string;
  let adminId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database);
    const email = uniqueEmail('admin');
    await server.gatehouse.users.ensureAdmin(email, PASSWORD);
    const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    admin = login.body.access_token;
    adminId = login.body.user.id;
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  const as = (method: string, path: string, body?: unknown) =>
    call(server.url, method, path, { token: admin, ...(body !== undefined ? { body } : {}) });
  const login = (email: string, password = PASSWORD) =>
    call(server.url, 'POST', '/v1/auth/login', { body: { email, password } });
  const auditOf = async (type: string, userId: string) =>
    server.gatehouse.events.query({ type, userId, limit: 10 });

  // Regression: with sign-up closed, nothing could create an ordinary account.
  it('creates a user with POST /v1/admin/users: 201, the user signs in, and the creation names the admin', async () => {
    const email = uniqueEmail('created');
    const created = await as('POST', '/v1/admin/users', { email, password: PASSWORD, name: 'Grace' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email, name: 'Grace', roles: [], disabled: false });
    expect(created.body).not.toHaveProperty('password_hash');
    const signedIn = await login(email);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(created.body.id);
    const [event] = await auditOf('user.create', created.body.id);
    expect(event).toMatchObject({ actor_id: adminId, detail: { via: 'api', roles: [] } });

    const helper = await as('POST', '/v1/admin/users', {
      email: uniqueEmail('created-admin'),
      password: PASSWORD,
      roles: ['admin'],
    });
    expect(helper.status).toBe(201);
    expect(helper.body.roles).toEqual(['admin']);
  });

  it('refuses to create a user twice (409 email_taken, in any spelling), an unknown role, or a weak password', async () => {
    const email = uniqueEmail('twice');
    expect((await as('POST', '/v1/admin/users', { email, password: PASSWORD })).status).toBe(201);
    const twice = await as('POST', '/v1/admin/users', {
      email: ` ${email.toUpperCase()}`,
      password: PASSWORD,
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('email_taken');
    const unknownRole = await as('POST', '/v1/admin/users', {
      email: uniqueEmail('role'),
      password: PASSWORD,
      roles: ['superuser'],
    });
    expect(unknownRole.status).toBe(400);
    expect(unknownRole.body.code).toBe('validation_failed');
    expect(unknownRole.body.detail).toContain(`must be one of: ${KNOWN_ROLES.join(', ')}`);
    const weak = await as('POST', '/v1/admin/users', { email: uniqueEmail('weak'), password: 'password' });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('password_policy');
  });

  it('lists the roles that exist in the OpenAPI document, wherever a body takes roles', async () => {
    const document = (await call(server.url, 'GET', '/openapi.json')).body;
    const rolesOf = (method: string, path: string) => {
      const items =
        document.paths[path][method].requestBody.content['application/json'].schema.properties.roles.items;
      // The document writes each literal as a one-value enum.
      return (items.anyOf ?? [items]).flatMap((literal: { enum: string[] }) => literal.enum);
    };
    expect(rolesOf('patch', '/v1/admin/users/{id}')).toEqual([...KNOWN_ROLES]);
    expect(rolesOf('post', '/v1/admin/users')).toEqual([...KNOWN_ROLES]);
  });

  it('unlocks a locked account: the right password works again at once, and the unlock names the admin', async () => {
    const email = uniqueEmail('locked');
    const { user } = await signUp(server.url, email);
    for (let attempt = 0; attempt < 9; attempt++) await login(email, 'wrong password entirely');
    const locked = await login(email);
    expect(locked.status).toBe(401);
    expect(locked.body.code).toBe('invalid_credentials');

    const unlocked = await as('POST', `/v1/admin/users/${user.id}/unlock`);
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.user).toMatchObject({ id: user.id, email });
    expect(Date.parse(unlocked.body.was_locked_until)).toBeGreaterThan(Date.now());
    expect((await login(email)).status).toBe(200);
    const [event] = await auditOf('user.unlock', user.id);
    expect(event).toMatchObject({ actor_id: adminId, detail: { via: 'api' } });

    const notLocked = await as('POST', `/v1/admin/users/${user.id}/unlock`);
    expect(notLocked.body.was_locked_until).toBeNull();
    const unknown = await as('POST', '/v1/admin/users/01900000-0000-7000-8000-000000000003/unlock');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('user_not_found');
  });

  it('pages through every user with limit and next_cursor, without repeats', async () => {
    const created = await Promise.all(Array.from({ length: 5 }, () => signUp(server.url)));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await as('GET', `/v1/admin/users${query}`);
      expect(page.status).toBe(200);
      expect(page.body.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.users.map((u: { id: string }) => u.id));
      cursor = page.body.next_cursor;
      if (cursor) expect(cursor).toBe(page.body.users.at(-1).id);
      pages += 1;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(adminId);
    for (const user of created) expect(seen).toContain(user.user.id);
    expect(pages).toBeGreaterThanOrEqual(3);

    const all = await as('GET', '/v1/admin/users');
    expect(all.body.users.map((u: { id: string }) => u.id)).toEqual(seen);
    expect(all.body.next_cursor).toBeNull();
  });

  it('finds a user by email written in any case or spacing', async () => {
    const email = uniqueEmail('findme');
    const { user } = await signUp(server.url, email);
    const query = encodeURIComponent(`  ${email.toUpperCase()} `);
    const found = await as('GET', `/v1/admin/users?email=${query}`);
    expect(found.status).toBe(200);
    expect(found.body.users).toHaveLength(1);
    expect(found.body.users[0]).toMatchObject({ id: user.id, email, roles: [], disabled: false });
    const nobody = await as('GET', `/v1/admin/users?email=${encodeURIComponent(uniqueEmail('nobody'))}`);
    expect(nobody.body).toEqual({ users: [], next_cursor: null });
  });

  it('refuses a limit outside 1..500 with 400 validation_failed', async () => {
    for (const limit of ['0', '501', 'ten']) {
      const reply = await as('GET', `/v1/admin/users?limit=${limit}`);
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('validation_failed');
    }
  });

  it('gets one user, and answers 404 user_not_found for an unknown id', async () => {
    const { user } = await signUp(server.url);
    const one = await as('GET', `/v1/admin/users/${user.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: user.id, email: user.email, disabled: false });
    expect(one.body).not.toHaveProperty('password_hash');
    const missing = await as('GET', '/v1/admin/users/01900000-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('user_not_found');
  });

  it('disables a user: their live token fails at once and login answers 401 user_disabled', async () => {
    const email = uniqueEmail('disable');
    const victim = await signUp(server.url, email);
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: victim.access_token })).status).toBe(200);

    const patched = await as('PATCH', `/v1/admin/users/${victim.user.id}`, { disabled: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: victim.user.id, disabled: true });

    // Guards: a disabled user's access token kept working until it expired.
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: victim.access_token });
    expect(me.status).toBe(401);
    expect(['user_disabled', 'session_revoked']).toContain(me.body.code);
    const refresh = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: victim.refresh_token },
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');

    const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(401);
    expect(login.body.code).toBe('user_disabled');
    // A wrong password still reads as a wrong password: being disabled is only told to the owner.
    const wrong = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password: 'nope nope' },
    });
    expect(wrong.body.code).toBe('invalid_credentials');

    const enabled = await as('PATCH', `/v1/admin/users/${victim.user.id}`, { disabled: false });
    expect(enabled.body.disabled).toBe(false);
    expect(
      (await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).status,
    ).toBe(200);
  });

  it('grants and removes the admin role, which takes effect on live tokens at once', async () => {
    const helper = await signUp(server.url);
    const before = await call(server.url, 'GET', '/v1/admin/users', { token: helper.access_token });
    expect(before.status).toBe(403);

    const granted = await as('PATCH', `/v1/admin/users/${helper.user.id}`, { roles: ['admin'] });
    expect(granted.status).toBe(200);
    expect(granted.body.roles).toEqual(['admin']);
    const after = await call(server.url, 'GET', '/v1/admin/users', { token: helper.access_token });
    expect(after.status).toBe(200);

    const removed = await as('PATCH', `/v1/admin/users/${helper.user.id}`, { roles: [] });
    expect(removed.body.roles).toEqual([]);
    const demoted = await call(server.url, 'GET', '/v1/admin/users', { token: helper.access_token });
    expect(demoted.status).toBe(403);
    expect(demoted.body.code).toBe('scope_insufficient');
  });

  it('refuses an unknown role with 400 validation_failed and leaves the roles alone', async () => {
    const { user } = await signUp(server.url);
    const reply = await as('PATCH', `/v1/admin/users/${user.id}`, { roles: ['admin', 'superuser'] });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('validation_failed');
    expect(reply.body.detail).toBe(`body/roles/1 must be one of: ${KNOWN_ROLES.join(', ')}`);
    expect((await as('GET', `/v1/admin/users/${user.id}`)).body.roles).toEqual([]);
  });

  it('never lets a patch touch fields outside {disabled, roles, name} (password hash, email, id)', async () => {
    const email = uniqueEmail('patch-extra');
    const { user } = await signUp(server.url, email);
    const other = uniqueEmail('patch-other');
    const reply = await as('PATCH', `/v1/admin/users/${user.id}`, {
      password_hash: '$2b$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa',
      email: other,
      id: '01900000-0000-7000-8000-000000000002',
      name: 'Renamed',
    });
    expect([200, 400]).toContain(reply.status);
    const stored = await as('GET', `/v1/admin/users/${user.id}`);
    expect(stored.body).toMatchObject({ id: user.id, email });
    const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(user.id);
  });

  it('deletes a user: 204, their token then gets 401 subject_not_found, and the user is gone', async () => {
    const victim = await signUp(server.url);
    const deleted = await as('DELETE', `/v1/admin/users/${victim.user.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');

    const me = await call(server.url, 'GET', '/v1/auth/me', { token: victim.access_token });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('subject_not_found');
    expect(me.headers.get('www-authenticate')).toContain('error_description="subject_not_found"');

    expect((await as('GET', `/v1/admin/users/${victim.user.id}`)).status).toBe(404);
    const again = await as('DELETE', `/v1/admin/users/${victim.user.id}`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('user_not_found');
    const login = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: victim.user.email, password: PASSWORD },
    });
    expect(login.body.code).toBe('invalid_credentials');
  });

  it("lists a user's sessions, ends one, then ends all", async () => {
    const email = uniqueEmail('sessions');
    const first = await signUp(server.url, email);
    const logins = await Promise.all(
      [1, 2].map(() => call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })),
    );
    const [second, third] = logins.map((reply) => reply.body);

    const listed = await as('GET', `/v1/admin/users/${first.user.id}/sessions`);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual(
      [first.session_id, second.session_id, third.session_id].sort(),
    );
    for (const session of listed.body.sessions) expect(session.current).toBe(false);

    const one = await as('DELETE', `/v1/admin/users/${first.user.id}/sessions/${second.session_id}`);
    expect(one.status).toBe(204);
    const secondMe = await call(server.url, 'GET', '/v1/auth/me', { token: second.access_token });
    expect(secondMe.body.code).toBe('session_revoked');
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: first.access_token })).status).toBe(200);
    expect((await as('GET', `/v1/admin/users/${first.user.id}/sessions`)).body.sessions).toHaveLength(2);

    const all = await as('DELETE', `/v1/admin/users/${first.user.id}/sessions`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ revoked: 2 });
    for (const token of [first.access_token, third.access_token]) {
      const me = await call(server.url, 'GET', '/v1/auth/me', { token });
      expect(me.status).toBe(401);
      expect(me.body.code).toBe('session_revoked');
    }
    expect((await as('GET', `/v1/admin/users/${first.user.id}/sessions`)).body.sessions).toEqual([]);
    // The admin's own session is untouched.
    expect((await as('GET', '/v1/auth/me')).status).toBe(200);
  });

  it("will not end a session through another user's path (404 session_not_found)", async () => {
    const owner = await signUp(server.url);
    const bystander = await signUp(server.url);
    const reply = await as('DELETE', `/v1/admin/users/${bystander.user.id}/sessions/${owner.session_id}`);
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('session_not_found');
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: owner.access_token })).status).toBe(200);
  });

  it('answers 404 user_not_found for the sessions of an unknown user', async () => {
    const unknown = '01900000-0000-7000-8000-000000000001';
    const list = await as('GET', `/v1/admin/users/${unknown}/sessions`);
    expect(list.status).toBe(404);
    expect(list.body.code).toBe('user_not_found');
    const all = await as('DELETE', `/v1/admin/users/${unknown}/sessions`);
    expect(all.status).toBe(404);
  });
});
