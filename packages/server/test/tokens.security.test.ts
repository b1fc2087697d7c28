import { reasonCodes } from '@gatehouse/codes';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];

describe('hostile and foreign access tokens are refused with a reason, fast, never a 500', () => {
  let databases: TestDatabase[];
  let here: TestServer;
  let elsewhere: TestServer;
  let token: string;

  beforeAll(async () => {
    databases = [await createTestDatabase(), await createTestDatabase()];
    here = await startTestServer(databases[0]!);
    elsewhere = await startTestServer(databases[1]!);
    token = (await signUp(here.url)).access_token;
  });
  afterAll(async () => {
    await Promise.all([here.close(), elsewhere.close()]);
    await Promise.all(databases.map((d) => d.drop()));
  });

  async function me(bearer: string) {
    const started = performance.now();
    const reply = await call(here.url, 'GET', '/v1/auth/me', { token: bearer });
    return { ...reply, ms: performance.now() - started };
  }

  it('accepts the genuine token (the control for every case below)', async () => {
    expect((await me(token)).status).toBe(200);
  });

  it('names a token from another installation token_unknown_key, with a hint and both issuers', async () => {
    const foreign = (await signUp(elsewhere.url)).access_token;
    const reply = await me(foreign);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('token_unknown_key');
    expect(reply.body.hint).toMatch(/another installation|master key/);
    expect(reply.body.detail).toContain(elsewhere.url);
    expect(reply.headers.get('www-authenticate')).toContain('error_description="token_unknown_key"');
  });

  it('refuses a tampered payload as token_signature_invalid', async () => {
    const [header, payload, signature] = parts(token);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${b64({ ...claims, scope: `${claims.scope} admin` })}.${signature}`;
    const reply = await me(forged);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('token_signature_invalid');
  });

  it('refuses alg "none" and HS256 signed with the public key (algorithm confusion)', async () => {
    const [, payload] = parts(token);
    const { kid } = decodeProtectedHeader(token);
    const none = await me(`${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${payload}.`);
    expect(none.status).toBe(401);
    expect(['token_malformed', 'token_alg_not_allowed']).toContain(none.body.code);

    const jwks = (await call(here.url, 'GET', '/.well-known/jwks.json')).body as {
      keys: { kid: string; x: string }[];
    };
    const publicKey = jwks.keys.find((k) => k.kid === kid)!;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: kid!, typ: 'at+jwt' })
      .sign(Buffer.from(publicKey.x, 'base64url'));
    const reply = await me(confused);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('token_alg_not_allowed');
  });

  it.each([
    ['a path-traversal kid', '../../etc/passwd'],
    ['an SQL kid', "x' OR '1'='1"],
    ['a huge kid', 'k'.repeat(5000)],
  ])('refuses %s as token_unknown_key without any lookup', async (_label, kid) => {
    const [, payload, signature] = parts(token);
    const reply = await me(`${b64({ alg: 'EdDSA', kid, typ: 'at+jwt' })}.${payload}.${signature}`);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('token_unknown_key');
  });

  it.each([
    ['padded base64', (t: string) => t.replace(/\./, '==.')],
    ['standard base64 alphabet', (t: string) => `${t.slice(0, 10)}+/${t.slice(12)}`],
    ['a 100,000-dot header', () => '.'.repeat(100_000)],
    ['two segments', (t: string) => t.split('.').slice(0, 2).join('.')],
    [
      'a header that is not JSON',
      (t: string) => `${Buffer.from('not json').toString('base64url')}.${parts(t)[1]}.${parts(t)[2]}`,
    ],
    ['surrounding quotes', (t: string) => `"${t}"`],
  ])('refuses %s as token_malformed', async (_label, mangle) => {
    const reply = await me(mangle(token));
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('token_malformed');
    expect(reply.ms).toBeLessThan(1000);
  });

  it('answers every rejection with a registered code and a problem body', async () => {
    const reply = await me('garbage');
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
    expect(Object.keys(reasonCodes)).toContain(reply.body.code);
    expect(reply.body.request_id).toBe(reply.headers.get('x-request-id'));
  });
});
