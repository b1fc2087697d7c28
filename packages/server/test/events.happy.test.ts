import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from './support/admin.js';
import { gatehouseCli } from './support/cli.js';
import { call, PASSWORD, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { offsetClock, startTestServer, type TestServer } from './support/test-server.js';

// The incident: "401 Invalid client token" in the logs and nothing to tie it to a request, a client or a
// reason. Every refusal is an event an operator finds by the request id the caller saw.

interface EventView {
  id: string;
  at: string;
  type: string;
  code: string;
  user_id: string | null;
  client_id: string | null;
  session_id: string | null;
  actor_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  token_preview: string | null;
  detail: Record<string, unknown> | null;
}

const USER_AGENT = 'spot-agent/5.2 (events test)';

/** Flips a claim but keeps the signature: the server must refuse it as token_signature_invalid. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
  const changed = Buffer.from(JSON.stringify({ ...claims, scope: 'openid admin' })).toString('base64url');
  return `${header}.${changed}.${signature}`;
}

/** The value of gatehouse_auth_decisions_total{kind, code} in /metrics (0 when not yet counted). */
async function decisions(url: string, kind: string, code: string): Promise<number> {
  const text = (await call(url, 'GET', '/metrics')).text;
  for (const line of text.split('\n')) {
    const match = /^gatehouse_auth_decisions_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (labels.kind === kind && labels.code === code) return Number(match[2]);
  }
  return 0;
}

describe('events: every refusal is found by its request id, counted, and listed', () => {
  let database: TestDatabase;
  let server: TestServer;
  const clock = offsetClock();
  let admin: { token: string; at: number } | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database, { clock });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  /** An admin token, renewed when the test clock has moved past half its life. */
  async function adminNow(): Promise<string> {
    if (!admin || clock.now() - admin.at > 300_000)
      admin = { token: await adminToken(server), at: clock.now() };
    return admin.token;
  }

  async function events(query: string): Promise<EventView[]> {
    const reply = await call(server.url, 'GET', `/v1/admin/events?${query}`, { token: await adminNow() });
    expect(reply.status, reply.text).toBe(200);
    return reply.body.events;
  }

  const me = (token: string, headers: Record<string, string> = {}) =>
    call(server.url, 'GET', '/v1/auth/me', { token, headers: { 'user-agent': USER_AGENT, ...headers } });

  it('a tampered token on /v1/auth/me: the problem body and x-request-id lead to one token.check event with a preview', async () => {
    const { access_token } = await signUp(server.url);
    const token = tamper(access_token);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('token_signature_invalid');
    const requestId = refused.body.request_id as string;
    expect(refused.headers.get('x-request-id')).toBe(requestId);

    const found = await events(`request_id=${encodeURIComponent(requestId)}`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      type: 'token.check',
      code: 'token_signature_invalid',
      ip: '127.0.0.1',
      user_agent: USER_AGENT,
      request_id: requestId,
      token_preview: `${token.slice(0, 12)}…${token.slice(-6)}`,
    });
    const recorded = JSON.stringify(found);
    expect(recorded).not.toContain(token);
    for (const part of token.split('.')) expect(recorded).not.toContain(part);
  });

  it('a login with a wrong password: found by request id as login/invalid_credentials, the password nowhere', async () => {
    const { user } = await signUp(server.url);
    const wrong = 'not the password at all 42';
    const refused = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: user.email, password: wrong },
      headers: { 'user-agent': USER_AGENT },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('invalid_credentials');
    const found = await events(`request_id=${refused.headers.get('x-request-id')}`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      type: 'login',
      code: 'invalid_credentials',
      ip: '127.0.0.1',
      user_agent: USER_AGENT,
      request_id: refused.body.request_id,
      detail: { email: user.email },
    });
    expect(JSON.stringify(found)).not.toContain(wrong);
  });

  it('/metrics counts token.check/token_signature_invalid exactly once per refused request', async () => {
    const { access_token } = await signUp(server.url);
    const before = await decisions(server.url, 'token.check', 'token_signature_invalid');
    const loginsBefore = await decisions(server.url, 'login', 'invalid_credentials');
    const tampered = tamper(access_token);
    for (let i = 0; i < 3; i++) expect((await me(tampered)).status).toBe(401);
    expect((await me(access_token)).status).toBe(200);
    expect(await decisions(server.url, 'token.check', 'token_signature_invalid')).toBe(before + 3);
    expect(await decisions(server.url, 'login', 'invalid_credentials')).toBe(loginsBefore);
    const metrics = (await call(server.url, 'GET', '/metrics')).text;
    expect(metrics).toContain('# TYPE gatehouse_auth_decisions_total counter');
    expect(metrics).not.toContain(tampered.split('.')[2]);
  });

  it('keeps a well-formed incoming x-request-id, and the event carries it; a malformed one is replaced', async () => {
    const { access_token } = await signUp(server.url);
    const traceId = 'lb-7f3a9c.incident-42';
    const refused = await me(tamper(access_token), { 'x-request-id': traceId });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe(traceId);
    expect(refused.body.request_id).toBe(traceId);
    expect(await events(`request_id=${traceId}`)).toMatchObject([
      { type: 'token.check', code: 'token_signature_invalid', request_id: traceId },
    ]);

    const malformed = await me(tamper(access_token), { 'x-request-id': 'has spaces; and "quotes"' });
    const assigned = malformed.headers.get('x-request-id');
    expect(assigned).not.toBe('has spaces; and "quotes"');
    expect(assigned).toMatch(/^[0-9a-f-]{36}$/);
    expect(malformed.body.request_id).toBe(assigned);
  });

  it('`gatehouse events --code invalid_credentials --since 1h --json` lists the login failure as JSON lines', async () => {
    const { user } = await signUp(server.url);
    const refused = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: user.email, password: 'wrong wrong wrong wrong' },
    });
    expect(refused.status).toBe(401);
    await server.gatehouse.events.flush();
    const result = await gatehouseCli(
      ['events', '--code', 'invalid_credentials', '--since', '1h', '--json'],
      server.env,
    );
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as EventView);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((event) => event.code === 'invalid_credentials')).toBe(true);
    expect(lines.find((event) => event.request_id === refused.body.request_id)).toMatchObject({
      type: 'login',
      code: 'invalid_credentials',
      ip: '127.0.0.1',
      detail: { email: user.email },
    });
    // The CLI prints newest last, like a log.
    const ids = lines.map((event) => event.id);
    expect(ids).toEqual([...ids].sort());
    expect(result.stderr).not.toContain('left out');
  });

  it('`gatehouse events --limit 1` says on stderr that older events were left out, and keeps stdout JSON', async () => {
    await signUp(server.url);
    await signUp(server.url);
    await server.gatehouse.events.flush();
    const result = await gatehouseCli(['events', '--limit', '1', '--json'], server.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toHaveProperty('id');
    expect(result.stderr).toMatch(/The newest 1 events are shown; older ones since \S+ were left out/);
  });

  it('GET /v1/admin/events filters by code, type, user_id and since (ISO and 1h), newest first', async () => {
    const { user } = await signUp(server.url);
    await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: user.email, password: 'wrong password!!' },
    });
    const login = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: user.email, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(
      (await call(server.url, 'POST', '/v1/auth/logout', { token: login.body.access_token })).status,
    ).toBe(204);

    const mine = await events(`user_id=${user.id}`);
    expect(mine.map((event) => [event.type, event.code])).toEqual([
      ['session.revoke', 'ok'],
      ['login', 'ok'],
      ['signup', 'ok'],
    ]);
    expect(mine.every((event) => event.user_id === user.id)).toBe(true);

    const logins = await events(`type=login&user_id=${user.id}`);
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ type: 'login', code: 'ok', session_id: login.body.session_id });

    const failures = await events('code=invalid_credentials');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((event) => event.code === 'invalid_credentials')).toBe(true);
    expect(failures.some((event) => event.detail?.email === user.email)).toBe(true);

    const checks = await events('type=token.check&code=token_signature_invalid');
    expect(checks.length).toBeGreaterThanOrEqual(5);
    expect(checks.every((event) => event.type === 'token.check')).toBe(true);

    const loginAt = logins[0]!.at;
    const sinceLogin = await events(`user_id=${user.id}&since=${encodeURIComponent(loginAt)}`);
    expect(sinceLogin.map((event) => event.type)).toEqual(['session.revoke', 'login']);

    const all = await events('limit=200');
    for (let i = 1; i < all.length; i++) {
      expect(all[i - 1]!.id > all[i]!.id).toBe(true);
      expect(Date.parse(all[i - 1]!.at)).toBeGreaterThanOrEqual(Date.parse(all[i]!.at));
    }

    // Two hours later, `since=1h` shows only what happened in the last hour.
    clock.advance(2 * 3_600_000);
    const fresh = await signUp(server.url);
    const recent = await events('since=1h&limit=1000');
    expect(recent.some((event) => event.user_id === fresh.user.id && event.type === 'signup')).toBe(true);
    expect(recent.some((event) => event.user_id === user.id)).toBe(false);
    expect(recent.every((event) => Date.parse(event.at) >= clock.now() - 3_600_000)).toBe(true);
    const older = await events(
      `since=${new Date(clock.now() - 3 * 3_600_000).toISOString()}&user_id=${user.id}`,
    );
    expect(older).toHaveLength(3);

    const badSince = await call(server.url, 'GET', '/v1/admin/events?since=yesterday', {
      token: await adminNow(),
    });
    expect(badSince.status).toBe(400);
    expect(badSince.body.code).toBe('validation_failed');
  });

  it("an admin's actions carry actor_id = the admin's user id, and the request id of the admin's call", async () => {
    const token = await adminNow();
    const adminId = (await call(server.url, 'GET', '/v1/auth/me', { token })).body.id as string;
    const { user } = await signUp(server.url);

    const disabled = await call(server.url, 'PATCH', `/v1/admin/users/${user.id}`, {
      token,
      body: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    const fromPatch = await events(`request_id=${disabled.headers.get('x-request-id')}`);
    expect(fromPatch.map((event) => event.type).sort()).toEqual(['session.revoke_all', 'user.disable']);
    for (const event of fromPatch) {
      expect(event).toMatchObject({ code: 'ok', user_id: user.id, actor_id: adminId, ip: '127.0.0.1' });
      expect(event.detail).toMatchObject({ via: 'api' });
    }
    expect(fromPatch.find((event) => event.type === 'session.revoke_all')?.detail).toMatchObject({
      reason: 'user_disabled',
      count: 1,
    });

    const deleted = await call(server.url, 'DELETE', `/v1/admin/users/${user.id}`, { token });
    expect(deleted.status).toBe(204);
    expect(await events(`type=user.delete&user_id=${user.id}`)).toMatchObject([
      { code: 'ok', actor_id: adminId, request_id: deleted.headers.get('x-request-id') },
    ]);

    const diagnosed = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token,
      body: { token: 'not a token' },
    });
    expect(diagnosed.status).toBe(200);
    expect(await events(`request_id=${diagnosed.headers.get('x-request-id')}`)).toMatchObject([
      { type: 'diagnose', actor_id: adminId, detail: { kind: 'unknown', verdict: 'token_malformed' } },
    ]);
  });
});
