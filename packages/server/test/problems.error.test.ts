import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Reply, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const PROBLEM_KEYS = ['type', 'title', 'status', 'code', 'hint', 'request_id'];
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('every failure is a problem+json with a reason code, never a 500', () => {
  let database: TestDatabase;
  let server: TestServer;
  const statuses: { request: string; status: number }[] = [];

  /** `call`, recording every status so the last test can check that none was a 500. */
  async function send(method: string, path: string, options: Parameters<typeof call>[3] = {}) {
    const reply = await call(server.url, method, path, options);
    statuses.push({ request: `${method} ${path}`, status: reply.status });
    return reply;
  }

  function expectProblem(reply: Reply, status: number, code: string) {
    expect(reply.status).toBe(status);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    for (const key of PROBLEM_KEYS) expect(reply.body).toHaveProperty(key);
    expect(reply.body.code).toBe(code);
    expect(reply.body.status).toBe(status);
    expect(reply.body.type).toBe(`urn:gatehouse:problem:${code}`);
    expect(reply.body.hint).toEqual(expect.any(String));
    expect(reply.body.request_id).toBe(reply.headers.get('x-request-id'));
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database);
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  it('answers malformed JSON with 400 validation_failed and the request id of the response header', async () => {
    const reply = await send('POST', '/v1/auth/login', { body: '{"email": "a@example.com", "password": ' });
    expectProblem(reply, 400, 'validation_failed');
    expect(reply.body.request_id).toMatch(UUID_V7);
  });

  it('answers an empty JSON body with 400 validation_failed', async () => {
    const reply = await send('POST', '/v1/auth/login', {
      headers: { 'content-type': 'application/json' },
      body: '',
    });
    expectProblem(reply, 400, 'validation_failed');
  });

  it.each([
    ['no password', { email: 'a@example.com' }],
    ['no email', { password: 'correct horse battery staple' }],
    ['an empty object', {}],
    ['a JSON array', []],
    ['JSON null', null],
    ['a password object', { email: 'a@example.com', password: { $gt: '' } }],
  ])('answers a login with %s with 400 validation_failed', async (_label, body) => {
    const reply = await send('POST', '/v1/auth/login', { body: JSON.stringify(body) });
    expectProblem(reply, 400, 'validation_failed');
  });

  it('answers a signup without a password with 400 validation_failed naming the field', async () => {
    const reply = await send('POST', '/v1/auth/signup', { body: { email: 'new@example.com' } });
    expectProblem(reply, 400, 'validation_failed');
    expect(reply.body.detail).toContain('password');
  });

  it('answers a 100 KB login body with 413 payload_too_large', async () => {
    const reply = await send('POST', '/v1/auth/login', {
      body: { email: 'a@example.com', password: 'x'.repeat(100 * 1024) },
    });
    expectProblem(reply, 413, 'payload_too_large');
  });

  // Regression: text/plain was parsed as a string and failed validation (400) instead of 415.
  it('answers a text/plain body with 415 unsupported_media_type', async () => {
    const reply = await send('POST', '/v1/auth/login', {
      headers: { 'content-type': 'text/plain' },
      body: 'email=a@example.com&password=correct horse battery staple',
    });
    expectProblem(reply, 415, 'unsupported_media_type');
  });

  it('answers an unknown media type with 415 unsupported_media_type', async () => {
    const reply = await send('POST', '/v1/auth/signup', {
      headers: { 'content-type': 'application/xml' },
      body: '<signup/>',
    });
    expectProblem(reply, 415, 'unsupported_media_type');
  });

  it('answers an unknown route with 404 not_found naming the method and path', async () => {
    const reply = await send('GET', '/v1/no/such/thing?secret=1');
    expectProblem(reply, 404, 'not_found');
    expect(reply.body.detail).toBe('GET /v1/no/such/thing');
    const wrongMethod = await send('DELETE', '/v1/auth/login');
    expectProblem(wrongMethod, 404, 'not_found');
  });

  it('answers an invalid id in a path with 400 validation_failed, not a database error', async () => {
    const { access_token } = await signUp(server.url);
    const reply = await send('DELETE', '/v1/auth/sessions/not-a-uuid', { token: access_token });
    expectProblem(reply, 400, 'validation_failed');
  });

  it('keeps a well-formed incoming x-request-id on the response and in the problem', async () => {
    const id = 'trace-42.abc:DEF_9';
    const reply = await send('GET', '/v1/nowhere', { headers: { 'x-request-id': id } });
    expect(reply.headers.get('x-request-id')).toBe(id);
    expect(reply.body.request_id).toBe(id);
    const ok = await send('GET', '/healthz', { headers: { 'x-request-id': id } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['spaces', 'has some spaces'],
    ['300 characters', 'a'.repeat(300)],
    ['quotes and angle brackets', '"><script>'],
  ])('replaces a malformed incoming x-request-id (%s) with a fresh one', async (_label, id) => {
    const reply = await send('GET', '/v1/nowhere', { headers: { 'x-request-id': id } });
    const echoed = reply.headers.get('x-request-id');
    expect(echoed).not.toBe(id);
    expect(echoed).toMatch(UUID_V7);
    expect(reply.body.request_id).toBe(echoed);
  });

  it('gives every response, success or failure, an x-request-id, distinct per request', async () => {
    const replies = await Promise.all([
      send('GET', '/healthz'),
      send('GET', '/.well-known/jwks.json'),
      send('GET', '/v1/auth/me'),
    ]);
    const ids = replies.map((reply) => reply.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers no bearer token with 401 token_missing and a realm-only challenge', async () => {
    const reply = await send('GET', '/v1/auth/me');
    expectProblem(reply, 401, 'token_missing');
    const challenge = reply.headers.get('www-authenticate');
    expect(challenge).toBe(`Bearer realm="${server.gatehouse.config.issuer}"`);
    expect(challenge).not.toContain('error=');
  });

  it('treats an empty Bearer value as no token', async () => {
    const reply = await send('GET', '/v1/auth/me', { headers: { authorization: 'Bearer    ' } });
    expectProblem(reply, 401, 'token_missing');
    expect(reply.headers.get('www-authenticate')).not.toContain('error=');
  });

  it.each([
    ['not a JWT', 'definitely-not-a-jwt', 'token_malformed'],
    ['three garbage segments', 'aaa.bbb.ccc', 'token_malformed'],
    [
      'alg none',
      `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.sig`,
      'token_alg_not_allowed',
    ],
    [
      'an unknown kid',
      `${Buffer.from('{"alg":"EdDSA","kid":"nobody","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`,
      'token_unknown_key',
    ],
  ])(
    'answers a bearer token that is %s with 401 %s and an RFC 6750 challenge',
    async (_label, token, code) => {
      const reply = await send('GET', '/v1/auth/me', { token });
      expectProblem(reply, 401, code);
      const challenge = reply.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`error_description="${code}"`);
    },
  );

  it('answers a token whose signature was altered with 401 token_signature_invalid', async () => {
    const { access_token } = await signUp(server.url);
    const [header, payload, signature = ''] = access_token.split('.');
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const reply = await send('GET', '/v1/auth/me', { token: `${header}.${payload}.${flipped}` });
    expectProblem(reply, 401, 'token_signature_invalid');
    expect(reply.headers.get('www-authenticate')).toContain('error_description="token_signature_invalid"');
  });

  it('sets the challenge on a revoked session too', async () => {
    const { access_token } = await signUp(server.url);
    expect((await send('POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
    const reply = await send('GET', '/v1/auth/me', { token: access_token });
    expectProblem(reply, 401, 'session_revoked');
    expect(reply.headers.get('www-authenticate')).toContain('error_description="session_revoked"');
  });

  it('answers oversized headers with 431 headers_too_large rather than dropping the connection', async () => {
    const reply = await send('GET', '/v1/auth/me', { headers: { 'x-padding': 'p'.repeat(200 * 1024) } });
    expect(reply.status).toBe(431);
    expect(reply.body.code).toBe('headers_too_large');
  });

  // Regression: a response written before Fastify saw the request carried no x-request-id.
  it('gives a 431 an x-request-id header equal to its request_id', async () => {
    const reply = await call(server.url, 'GET', '/healthz', {
      headers: { 'x-padding': 'p'.repeat(200 * 1024) },
    });
    expect(reply.status).toBe(431);
    expect(reply.headers.get('x-request-id')).toMatch(UUID_V7);
    expect(reply.body.request_id).toBe(reply.headers.get('x-request-id'));
  });

  // Regression: U+0000 in an email was stored by SQLite and made PostgreSQL answer 500.
  it('refuses an email containing U+0000 at signup with 400 validation_failed', async () => {
    const reply = await call(server.url, 'POST', '/v1/auth/signup', {
      body: { email: `nul\u0000-${Date.now()}@example.com`, password: 'long enough password' },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('validation_failed');
  });

  // Regression: a login with U+0000 in the email answered 500 on PostgreSQL.
  it('answers a login whose email contains U+0000 like any unknown email (401 invalid_credentials)', async () => {
    const reply = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: 'a\u0000b@example.com', password: 'whatever password' },
    });
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('invalid_credentials');
  });

  // Regression: U+0000 in a name made PostgreSQL answer 500 at signup.
  it('never answers a signup whose name contains U+0000 with a 5xx', async () => {
    const reply = await call(server.url, 'POST', '/v1/auth/signup', {
      body: {
        email: `nul-name-${Date.now()}@example.com`,
        password: 'long enough password',
        name: 'a\u0000b',
      },
    });
    expect(reply.status).toBeLessThan(500);
  });

  it('answers hostile or odd input with a 4xx problem, never a crash', async () => {
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const replies = await Promise.all([
      send('POST', '/v1/auth/login', { body: '{"__proto__":{"admin":true},"email":"a@example.com"}' }),
      send('POST', '/v1/auth/login', { body: nested }),
      send('POST', '/v1/auth/login', { body: { email: 'e'.repeat(10_000), password: 'x' } }),
      send('POST', '/v1/auth/signup', { body: { email: 'not-an-email', password: 'long enough password' } }),
      send('POST', '/v1/auth/login', {
        headers: { 'content-type': 'application/json; charset=utf-16' },
        body: '{}',
      }),
      send('GET', '/v1/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      send('GET', '/v1/auth/me', { token: `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c` }),
      send('GET', '/v1/auth/me', { token: 'a.b.c.d' }),
      send('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: 'grt_nope' } }),
      send('POST', '/oauth/token', { body: '{bad json' }),
      send('POST', '/oauth/revoke', { form: {} }),
    ]);
    const outcomes = replies.map((reply) => ({ status: reply.status, code: reply.body?.code }));
    for (const outcome of outcomes) {
      expect(outcome.status, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(400);
      expect(outcome.status, JSON.stringify(outcomes)).toBeLessThan(500);
      expect(outcome.code).toEqual(expect.any(String));
    }
  });

  it('never answered any request in this file with a 5xx', () => {
    expect(statuses.length).toBeGreaterThan(25);
    expect(statuses.filter((entry) => entry.status >= 500)).toEqual([]);
  });
});
