import { describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

describe('people: sign up, sign in, sessions, password, sign out', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  const login = (email: string, password: string, userAgent = 'vitest') =>
    call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password },
      headers: { 'user-agent': userAgent },
    });

  it('signs up with 201, the user and a Bearer token pair that lasts 600 seconds', async () => {
    const email = uniqueEmail('Signup');
    const reply = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email, password: PASSWORD, name: '  Ada Lovelace ' },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.user).toMatchObject({
      email: email.toLowerCase(),
      name: 'Ada Lovelace',
      roles: [],
      disabled: false,
      mfa_enabled: false,
    });
    expect(reply.body.user.id).toMatch(UUID_V7);
    expect(reply.body.user.created_at).toMatch(ISO_Z);
    expect(reply.body.user).not.toHaveProperty('password_hash');
    expect(reply.body.token_type).toBe('Bearer');
    expect(reply.body.expires_in).toBe(600);
    expect(reply.body.access_token).toMatch(JWT);
    expect(reply.body.refresh_token).toMatch(/^grt_/);
    expect(reply.text).not.toContain('$argon2');
  });

  it('answers /v1/auth/me and /v1/auth/session for the signed-in user', async () => {
    const email = uniqueEmail();
    const signup = await signUp(server.url, email);
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: signup.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: signup.user.id,
      email,
      name: null,
      roles: [],
      mfa_enabled: false,
      created_at: expect.stringMatching(ISO_Z),
    });

    const session = await call(server.url, 'GET', '/v1/auth/session', { token: signup.access_token });
    expect(session.status).toBe(200);
    expect(session.body.user.id).toBe(signup.user.id);
    expect(session.body.session.id).toBe(signup.session_id);
    const created = Date.parse(session.body.session.created_at);
    const expires = Date.parse(session.body.session.expires_at);
    expect(session.body.session.expires_at).toMatch(ISO_Z);
    expect(expires - created).toBe(30 * 86_400 * 1000);
  });

  it('lists both devices, ends the other one at once, then logs out', async () => {
    const email = uniqueEmail('devices');
    const first = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email, password: PASSWORD },
      headers: { 'user-agent': 'laptop' },
    });
    expect(first.status).toBe(201);
    const laptop = first.body.access_token as string;

    const list1 = await call(server.url, 'GET', '/v1/auth/sessions', { token: laptop });
    expect(list1.status).toBe(200);
    expect(list1.body.sessions).toHaveLength(1);
    expect(list1.body.sessions[0]).toMatchObject({ id: first.body.session_id, current: true });

    const second = await login(email, PASSWORD, 'phone');
    expect(second.status).toBe(200);
    const phone = second.body.access_token as string;
    expect(second.body.session_id).not.toBe(first.body.session_id);

    const list2 = await call(server.url, 'GET', '/v1/auth/sessions', { token: laptop });
    expect(list2.body.sessions).toHaveLength(2);
    const mine = list2.body.sessions.find((s: { current: boolean }) => s.current);
    const other = list2.body.sessions.find((s: { current: boolean }) => !s.current);
    expect(mine).toMatchObject({ id: first.body.session_id, user_agent: 'laptop' });
    expect(other).toMatchObject({ id: second.body.session_id, user_agent: 'phone', ip: '127.0.0.1' });
    for (const field of ['created_at', 'last_used_at', 'expires_at']) expect(other[field]).toMatch(ISO_Z);
    const fromPhone = await call(server.url, 'GET', '/v1/auth/sessions', { token: phone });
    expect(fromPhone.body.sessions.find((s: { current: boolean }) => s.current).id).toBe(
      second.body.session_id,
    );

    expect((await call(server.url, 'GET', '/v1/auth/me', { token: phone })).status).toBe(200);
    const ended = await call(server.url, 'DELETE', `/v1/auth/sessions/${other.id}`, { token: laptop });
    expect(ended.status).toBe(204);
    // Guards: a revoked session's access token kept working until it expired.
    const phoneMe = await call(server.url, 'GET', '/v1/auth/me', { token: phone });
    expect(phoneMe.status).toBe(401);
    expect(phoneMe.body.code).toBe('session_revoked');
    const phoneRefresh = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: second.body.refresh_token },
    });
    expect(phoneRefresh.status).toBe(400);
    expect(phoneRefresh.body).toMatchObject({ error: 'invalid_grant', code: 'session_revoked' });

    const list3 = await call(server.url, 'GET', '/v1/auth/sessions', { token: laptop });
    expect(list3.body.sessions.map((s: { id: string }) => s.id)).toEqual([first.body.session_id]);

    expect((await call(server.url, 'POST', '/v1/auth/logout', { token: laptop })).status).toBe(204);
    const laptopMe = await call(server.url, 'GET', '/v1/auth/me', { token: laptop });
    expect(laptopMe.status).toBe(401);
    expect(laptopMe.body.code).toBe('session_revoked');
  });

  it("cannot end another user's session (404 session_not_found), which keeps working", async () => {
    const alice = await signUp(server.url);
    const mallory = await signUp(server.url);
    const reply = await call(server.url, 'DELETE', `/v1/auth/sessions/${alice.session_id}`, {
      token: mallory.access_token,
    });
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('session_not_found');
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: alice.access_token })).status).toBe(200);
  });

  it('changes the password: other sessions end, this one stays, only the new password signs in', async () => {
    const email = uniqueEmail('password');
    const here = await signUp(server.url, email);
    const elsewhere = await login(email, PASSWORD);
    expect(elsewhere.status).toBe(200);
    const newPassword = 'a brand new passphrase';

    const changed = await call(server.url, 'POST', '/v1/auth/password', {
      token: here.access_token,
      body: { current_password: PASSWORD, new_password: newPassword },
    });
    expect(changed.status).toBe(204);

    expect((await call(server.url, 'GET', '/v1/auth/me', { token: here.access_token })).status).toBe(200);
    const other = await call(server.url, 'GET', '/v1/auth/me', { token: elsewhere.body.access_token });
    expect(other.status).toBe(401);
    expect(other.body.code).toBe('session_revoked');

    const old = await login(email, PASSWORD);
    expect(old.status).toBe(401);
    expect(old.body.code).toBe('invalid_credentials');
    const fresh = await login(email, newPassword);
    expect(fresh.status).toBe(200);
    expect(fresh.body.user.id).toBe(here.user.id);
  });

  it('refuses a password change with a wrong current password or a short new one, changing nothing', async () => {
    const email = uniqueEmail('password-refused');
    const here = await signUp(server.url, email);
    const elsewhere = await login(email, PASSWORD);

    const wrong = await call(server.url, 'POST', '/v1/auth/password', {
      token: here.access_token,
      body: { current_password: 'not my password', new_password: 'another long password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');

    const short = await call(server.url, 'POST', '/v1/auth/password', {
      token: here.access_token,
      body: { current_password: PASSWORD, new_password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.code).toBe('password_policy');

    expect((await call(server.url, 'GET', '/v1/auth/me', { token: here.access_token })).status).toBe(200);
    expect(
      (await call(server.url, 'GET', '/v1/auth/me', { token: elsewhere.body.access_token })).status,
    ).toBe(200);
    expect((await login(email, PASSWORD)).status).toBe(200);
  });

  it('refuses a password shorter than 8 characters (counted in code points) with 400 password_policy', async () => {
    for (const password of ['1234567', '😀'.repeat(7)]) {
      const reply = await call(server.url, 'POST', '/v1/auth/signup', {
        body: { email: uniqueEmail('short'), password },
      });
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('password_policy');
    }
    const eightEmoji = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email: uniqueEmail('emoji'), password: '😀'.repeat(8) },
    });
    expect(eightEmoji.status).toBe(201);
  });

  it('uses all of a 1000-character password: dropping or changing its last character fails', async () => {
    const email = uniqueEmail('long');
    const password = `${'pass phrase '.repeat(83)}abcd`;
    expect(password).toHaveLength(1000);
    await signUp(server.url, email, password);
    expect((await login(email, password)).status).toBe(200);
    const shorter = await login(email, password.slice(0, -1));
    expect(shorter.status).toBe(401);
    expect(shorter.body.code).toBe('invalid_credentials');
    expect((await login(email, `${password.slice(0, -1)}e`)).status).toBe(401);
    // Past the 72 bytes bcrypt would keep: a change there must matter too.
    expect((await login(email, `${password.slice(0, 100)}X${password.slice(101)}`)).status).toBe(401);

    const tooLong = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email: uniqueEmail('too-long'), password: 'x'.repeat(1025) },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe('password_policy');
  });

  it('refuses a second signup with the same email in another case with 409 email_taken', async () => {
    const email = uniqueEmail('taken');
    const original = await signUp(server.url, email);
    const again = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email: ` ${email.toUpperCase()}`, password: 'some other password' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('email_taken');
    // The original account and password are untouched.
    const signedIn = await login(email, PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(original.user.id);
    expect((await login(email, 'some other password')).status).toBe(401);
  });

  it('answers /oauth/userinfo with {sub, email, email_verified, name}', async () => {
    const email = uniqueEmail('userinfo');
    const signup = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email, password: PASSWORD, name: 'Grace Hopper' },
    });
    const info = await call(server.url, 'GET', '/oauth/userinfo', { token: signup.body.access_token });
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      sub: signup.body.user.id,
      email,
      email_verified: false,
      name: 'Grace Hopper',
    });
    const anonymous = await call(server.url, 'GET', '/oauth/userinfo');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('token_missing');
  });

  it('ends the session when its refresh token is revoked at /oauth/revoke', async () => {
    const signup = await signUp(server.url);
    const refreshed = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: signup.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(signup.refresh_token);

    const revoked = await call(server.url, 'POST', '/oauth/revoke', {
      form: { token: refreshed.body.refresh_token, token_type_hint: 'refresh_token' },
    });
    expect(revoked.status).toBe(200);
    for (const token of [signup.access_token, refreshed.body.access_token]) {
      const me = await call(server.url, 'GET', '/v1/auth/me', { token });
      expect(me.status).toBe(401);
      expect(me.body.code).toBe('session_revoked');
    }
    const again = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token },
    });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant', code: 'session_revoked' });
  });

  it('ends the session when its access token is revoked, and answers 200 for unknown tokens', async () => {
    const signup = await signUp(server.url);
    const revoked = await call(server.url, 'POST', '/oauth/revoke', { body: { token: signup.access_token } });
    expect(revoked.status).toBe(200);
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: signup.access_token });
    expect(me.body.code).toBe('session_revoked');
    for (const token of ['grt_not-a-real-token', 'nonsense', 'a.b.c']) {
      expect((await call(server.url, 'POST', '/oauth/revoke', { form: { token } })).status).toBe(200);
    }
  });

  describe('with GATEHOUSE_SIGNUP=closed', () => {
    let closed: TestServer;
    useTestServer({ env: { GATEHOUSE_SIGNUP: 'closed' } }, (started) => {
      closed = started.server;
    });

    it('refuses signup with 403 signup_closed and creates no account, while existing users still sign in', async () => {
      const email = uniqueEmail('closed');
      const reply = await call(closed.url, 'POST', '/v1/auth/signup', {
        body: { email, password: PASSWORD },
      });
      expect(reply.status).toBe(403);
      expect(reply.body.code).toBe('signup_closed');
      expect((await closed.gatehouse.users.list({ limit: 10 })).users).toEqual([]);

      await closed.gatehouse.users.ensureAdmin(email, PASSWORD);
      const signedIn = await call(closed.url, 'POST', '/v1/auth/login', {
        body: { email, password: PASSWORD },
      });
      expect(signedIn.status).toBe(200);
    });
  });
});
