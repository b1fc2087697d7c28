import { describe, expect, it } from 'vitest';
import { readLoginThrottle } from '../src/store/login-throttles-store.js';
import { accountKey } from '../src/users/login-throttle.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const login = (server: TestServer, email: string, password: string) =>
  call(server.url, 'POST', '/v1/auth/login', { body: { email, password } });
const withoutRequestId = ({ request_id: _id, ...body }: Record<string, unknown>) => body;

describe('brute-force protection that never tells an attacker anything', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer(
    {
      clock,
      env: {
        GATEHOUSE_LOCKOUT_THRESHOLD: '3',
        GATEHOUSE_LOGIN_RATE_LIMIT: '0',
        GATEHOUSE_PASSWORD_HASH_QUEUE: '200',
      },
    },
    (started) => {
      server = started.server;
    },
  );

  const failures = async (email: string) =>
    (await readLoginThrottle(server.gatehouse.store.db, accountKey(email)))?.failures ?? 0;

  it('counts 50 concurrent wrong passwords as 50, whatever the spelling of the email', async () => {
    const email = uniqueEmail('target');
    await signUp(server.url, email);
    const spellings = [email, email.toUpperCase(), `  ${email} `, email.replace('@', '＠')];
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => login(server, spellings[i % spellings.length]!, `wrong ${i}`)),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([401]));
    expect(await failures(email)).toBe(50);
  });

  it('answers a locked account with the right password exactly as a wrong password, and records account_locked', async () => {
    const email = uniqueEmail('locked');
    await signUp(server.url, email);
    const wrong = [];
    for (let i = 0; i < 3; i++) wrong.push(await login(server, email, 'not it at all'));
    const lockedRight = await login(server, email, PASSWORD);
    const lockedWrong = await login(server, email, 'still not it');
    expect(lockedRight.status).toBe(401);
    expect(withoutRequestId(lockedRight.body)).toEqual(withoutRequestId(wrong[0]!.body));
    expect(withoutRequestId(lockedWrong.body)).toEqual(withoutRequestId(wrong[0]!.body));
    expect(lockedRight.headers.get('content-type')).toBe(wrong[0]!.headers.get('content-type'));

    const admin = await adminOf(server);
    const events = (
      await call(server.url, 'GET', `/v1/admin/events?request_id=${lockedRight.body.request_id}`, {
        token: admin,
      })
    ).body.events;
    expect(events[0]).toMatchObject({ type: 'login', code: 'account_locked' });

    clock.advance(5 * 60_000);
    expect((await login(server, email, PASSWORD)).status).toBe(200);
    expect(await failures(email)).toBe(0);
  });

  it('refuses a locked account on the password-change pathway too, looking like a wrong password', async () => {
    const email = uniqueEmail('changer');
    const { access_token } = await signUp(server.url, email);
    const change = (current: string) =>
      call(server.url, 'POST', '/v1/auth/password', {
        token: access_token,
        body: { current_password: current, new_password: 'a brand new passphrase' },
      });
    for (let i = 0; i < 3; i++) expect((await change('wrong current')).body.code).toBe('invalid_credentials');
    const locked = await change(PASSWORD);
    expect(locked.status).toBe(401);
    expect(locked.body.code).toBe('invalid_credentials');
    expect((await login(server, email, PASSWORD)).body.code).toBe('invalid_credentials');
  });

  it('counts failures against an unknown email the same way, and they block nothing once it signs up', async () => {
    const email = uniqueEmail('future');
    for (let i = 0; i < 4; i++)
      expect((await login(server, email, 'guess')).body.code).toBe('invalid_credentials');
    expect(await failures(email)).toBe(4);
    await signUp(server.url, email);
    expect(await failures(email)).toBe(0);
    expect((await login(server, email, PASSWORD)).status).toBe(200);
  });
});

describe('the per-IP limit on credential routes', () => {
  let server: TestServer;
  useTestServer({ env: { GATEHOUSE_LOGIN_RATE_LIMIT: '4' } }, (started) => {
    server = started.server;
  });

  it('answers 429 rate_limited with retry-after, the same for existing and unknown emails', async () => {
    const email = uniqueEmail('limited');
    await signUp(server.url, email);
    for (let i = 0; i < 4; i++) await login(server, i % 2 ? email : uniqueEmail('ghost'), 'wrong');
    const existing = await login(server, email, PASSWORD);
    const unknown = await login(server, uniqueEmail('ghost'), PASSWORD);
    for (const reply of [existing, unknown]) {
      expect(reply.status).toBe(429);
      expect(reply.body.code).toBe('rate_limited');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(withoutRequestId(existing.body)).toEqual(withoutRequestId(unknown.body));
  });
});

describe('the password policy (NIST 800-63B: length and a blocklist, no composition rules)', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  it.each(['password1', 'Password123', 'iloveyou1', 'qwertyuiop'])(
    'refuses the common password %s',
    async (password) => {
      const signup = await call(server.url, 'POST', '/v1/auth/signup', {
        body: { email: uniqueEmail(), password },
      });
      expect(signup.status).toBe(400);
      expect(signup.body.code).toBe('password_policy');
    },
  );

  it('refuses a common password as the new password, and takes any long uncommon one', async () => {
    const { access_token } = await signUp(server.url);
    const change = (next: string) =>
      call(server.url, 'POST', '/v1/auth/password', {
        token: access_token,
        body: { current_password: PASSWORD, new_password: next },
      });
    expect((await change('Password123')).body.code).toBe('password_policy');
    expect((await change('lowercase only but long')).status).toBe(204);
  });
});

async function adminOf(server: TestServer): Promise<string> {
  const email = uniqueEmail('admin');
  await server.gatehouse.users.ensureAdmin(email, PASSWORD);
  return (await login(server, email, PASSWORD)).body.access_token;
}
