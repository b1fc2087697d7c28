import { beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer, useTestServer } from './support/test-server.js';

/** The session cookie a Set-Cookie header sets, as `name=value` for a Cookie header. */
const cookieOf = (headers: Headers) => (headers.get('set-cookie') ?? '').split(';')[0]!;

describe('cookie sessions for browser apps on the same site, with CSRF protection', () => {
  let server: TestServer;
  let origin: string;
  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    origin = new URL(server.url).origin;
  });

  async function cookieLogin(email: string) {
    const reply = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password: PASSWORD, mode: 'cookie' },
    });
    expect(reply.status).toBe(200);
    return { reply, cookie: cookieOf(reply.headers), csrf: reply.body.csrf_token as string };
  }

  it('sets an HttpOnly, SameSite=Lax cookie and answers the user and a CSRF token instead of tokens', async () => {
    const email = uniqueEmail('browser');
    await signUp(server.url, email);
    const { reply, cookie, csrf } = await cookieLogin(email);
    const setCookie = reply.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^gatehouse_session=gcs_/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(reply.body).not.toHaveProperty('access_token');
    expect(reply.body).not.toHaveProperty('refresh_token');
    expect(reply.body.user.email).toBe(email);
    expect(csrf.length).toBeGreaterThan(20);

    const session = await call(server.url, 'GET', '/v1/auth/session', { headers: { cookie } });
    expect(session.status).toBe(200);
    expect(session.body.csrf_token).toBe(csrf);
    expect((await call(server.url, 'GET', '/v1/auth/me', { headers: { cookie } })).body.email).toBe(email);
  });

  it('gives every login a new session id (no fixation)', async () => {
    const email = uniqueEmail('fixation');
    await signUp(server.url, email);
    const first = await cookieLogin(email);
    const second = await cookieLogin(email);
    expect(second.cookie).not.toBe(first.cookie);
    const ids = await Promise.all(
      [first.cookie, second.cookie].map(
        async (cookie) =>
          (await call(server.url, 'GET', '/v1/auth/session', { headers: { cookie } })).body.session.id,
      ),
    );
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('refuses a cookie-authenticated write without a token, with another session’s token, or cross-site', async () => {
    const email = uniqueEmail('csrf');
    await signUp(server.url, email);
    const mine = await cookieLogin(email);
    const other = await cookieLogin(email);
    const logout = (headers: Record<string, string>) =>
      call(server.url, 'POST', '/v1/auth/logout', { headers: { cookie: mine.cookie, ...headers } });

    const missing = await logout({});
    expect(missing.status).toBe(403);
    expect(missing.body.code).toBe('csrf_missing');
    const foreign = await logout({ 'x-csrf-token': other.csrf });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('csrf_invalid');
    const crossSite = await logout({ 'x-csrf-token': mine.csrf, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.body.code).toBe('csrf_invalid');
    const otherOrigin = await logout({ 'x-csrf-token': mine.csrf, origin: 'https://evil.example' });
    expect(otherOrigin.body.code).toBe('csrf_invalid');
    // Regression: the hint sent a caller with the right token off to fetch another one.
    for (const refusal of [crossSite, otherOrigin]) {
      expect(refusal.body.hint).toContain(origin);
      expect(refusal.body.hint).not.toMatch(/x-csrf-token|CSRF token/);
    }
    expect((await call(server.url, 'GET', '/v1/auth/me', { headers: { cookie: mine.cookie } })).status).toBe(
      200,
    );

    const ok = await logout({ 'x-csrf-token': mine.csrf, 'sec-fetch-site': 'same-origin', origin });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('set-cookie')).toMatch(/gatehouse_session=;/);
    const after = await call(server.url, 'GET', '/v1/auth/me', { headers: { cookie: mine.cookie } });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('session_revoked');
  });

  // A comparison that stops at the shorter string, or takes a prefix for a match, would let these through.
  it('refuses a CSRF token one character short or one too long as csrf_invalid, and the session lives on', async () => {
    const email = uniqueEmail('csrf-length');
    await signUp(server.url, email);
    const { cookie, csrf } = await cookieLogin(email);
    const before = await call(server.url, 'GET', '/v1/auth/session', { headers: { cookie } });
    expect(before.status).toBe(200);

    const variants = { 'one character short': csrf.slice(0, -1), 'one character too long': `${csrf}A` };
    for (const [variant, token] of Object.entries(variants)) {
      const reply = await call(server.url, 'POST', '/v1/auth/logout', {
        headers: { cookie, 'x-csrf-token': token },
      });
      expect(reply.status, variant).toBe(403);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(reply.body.code).toBe('csrf_invalid');
      expect(reply.headers.get('set-cookie')).toBeNull();
    }
    const after = await call(server.url, 'GET', '/v1/auth/session', { headers: { cookie } });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
  });

  it('needs no CSRF token for a bearer request, which a browser cannot forge', async () => {
    const { access_token } = await signUp(server.url);
    expect(
      (
        await call(server.url, 'POST', '/v1/auth/logout', {
          token: access_token,
          headers: { 'sec-fetch-site': 'cross-site' },
        })
      ).status,
    ).toBe(204);
  });
});

describe('cookie attributes follow the public URL', () => {
  it('are __Host- prefixed and Secure when the public URL is https', async () => {
    const database = await createTestDatabase();
    const server = await startTestServer(database, {
      env: { GATEHOUSE_PUBLIC_URL: 'https://auth.example.com' },
    });
    try {
      const email = uniqueEmail('secure');
      await signUp(server.url, email);
      const reply = await call(server.url, 'POST', '/v1/auth/login', {
        body: { email, password: PASSWORD, mode: 'cookie' },
      });
      const setCookie = reply.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^__Host-gatehouse_session=gcs_/);
      expect(setCookie).toMatch(/Secure/);
      expect(setCookie).not.toMatch(/Domain=/i);
    } finally {
      await server.close();
      await database.drop();
    }
  });
});
