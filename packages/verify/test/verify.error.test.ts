import { reasonCodes } from '@gatehouse/codes';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from '../../server/test/support/admin.js';
import { call, signUp } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import { offsetClock, startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { createVerifier, type Verifier } from '../src/index.js';

// One failure contract: a resource server must refuse a token with the code the server's own diagnosis
// gives, so an operator who runs `gatehouse doctor token` sees what the resource server saw.

const STAGING = 'https://staging.example.test';
const OTHER = 'https://other.example.test';
const API_AUDIENCE = 'https://api.example.test';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const partsOf = (token: string) => token.split('.') as [string, string, string];
const claimsOf = (token: string) => JSON.parse(Buffer.from(partsOf(token)[1], 'base64url').toString('utf8'));
const kidOf = (token: string) => JSON.parse(Buffer.from(partsOf(token)[0], 'base64url').toString('utf8')).kid;

describe('the verifier refuses a token with the code the server diagnoses', () => {
  let database: TestDatabase;
  let otherDatabase: TestDatabase;
  /** The issuer: its own URL is its public URL, so discovery is reachable. */
  let server: TestServer;
  /** Same database and keys, another public URL: this installation's key, another iss. */
  let staging: TestServer;
  /** Same database and issuer, configured for another audience. */
  let audienceServer: TestServer;
  /** Same database, a clock 10 minutes ahead: tokens from the future. */
  let aheadServer: TestServer;
  /** Another installation (other keys) using this issuer's URL, and one with its own URL. */
  let otherSameIssuer: TestServer;
  let otherInstallation: TestServer;
  let verifier: Verifier;
  let apiVerifier: Verifier;
  /** An admin token per server (the audience server accepts only its own audience). */
  const admins = new Map<TestServer, string>();
  const clock = offsetClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    otherDatabase = await createTestDatabase();
    server = await startTestServer(database, { clock });
    staging = await startTestServer(database, { clock, env: { GATEHOUSE_PUBLIC_URL: STAGING } });
    audienceServer = await startTestServer(database, {
      clock,
      env: { GATEHOUSE_PUBLIC_URL: server.url, GATEHOUSE_TOKEN_AUDIENCE: API_AUDIENCE },
    });
    aheadServer = await startTestServer(database, {
      clock: { now: () => clock.now() + 10 * 60_000 },
      env: { GATEHOUSE_PUBLIC_URL: server.url },
    });
    otherSameIssuer = await startTestServer(otherDatabase, { env: { GATEHOUSE_PUBLIC_URL: server.url } });
    otherInstallation = await startTestServer(otherDatabase, { env: { GATEHOUSE_PUBLIC_URL: OTHER } });
    verifier = createVerifier({ issuer: server.url, clock });
    apiVerifier = createVerifier({ issuer: server.url, audience: API_AUDIENCE, clock });
  });
  afterAll(async () => {
    for (const running of [
      server,
      staging,
      audienceServer,
      aheadServer,
      otherSameIssuer,
      otherInstallation,
    ]) {
      await running?.close();
    }
    await database?.drop();
    await otherDatabase?.drop();
  });

  async function diagnosis(token: string, on: TestServer = server) {
    if (!admins.has(on)) admins.set(on, await adminToken(on));
    const reply = await call(on.url, 'POST', '/v1/admin/diagnose', {
      token: admins.get(on),
      body: { token },
    });
    expect(reply.status, reply.text).toBe(200);
    return reply.body as { code: string };
  }

  /** What the server answers the token with at a protected route of its own. */
  async function serverAnswer(token: string, on: TestServer = server) {
    return (await call(on.url, 'GET', '/v1/auth/me', { token })).body as { code?: string };
  }

  interface Case {
    name: string;
    code: string;
    prepare(): Promise<{ token: string; verifier?: Verifier; on?: TestServer }>;
  }

  const cases: Case[] = [
    {
      name: 'garbage',
      code: 'token_malformed',
      prepare: async () => ({ token: 'not.a-jwt' }),
    },
    {
      name: 'a tampered payload',
      code: 'token_signature_invalid',
      async prepare() {
        const [header, , signature] = partsOf((await signUp(server.url)).access_token);
        const claims = claimsOf((await signUp(server.url)).access_token);
        return { token: `${header}.${b64({ ...claims, scope: 'openid admin' })}.${signature}` };
      },
    },
    {
      name: 'alg none',
      code: 'token_alg_not_allowed',
      async prepare() {
        const { access_token } = await signUp(server.url);
        return { token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${partsOf(access_token)[1]}.` };
      },
    },
    {
      name: 'alg HS256 with the kid of a real key',
      code: 'token_alg_not_allowed',
      async prepare() {
        const { access_token } = await signUp(server.url);
        const header = b64({ alg: 'HS256', kid: kidOf(access_token), typ: 'at+jwt' });
        return { token: `${header}.${partsOf(access_token)[1]}.c2lnbmF0dXJl` };
      },
    },
    {
      name: 'a token of another installation that uses the same issuer URL (unknown kid)',
      code: 'token_unknown_key',
      prepare: async () => ({ token: (await signUp(otherSameIssuer.url)).access_token }),
    },
    {
      name: 'a token of another installation and issuer',
      code: 'token_unknown_key',
      prepare: async () => ({ token: (await signUp(otherInstallation.url)).access_token }),
    },
    {
      name: "a token signed with the issuer's key for another issuer (wrong issuer)",
      code: 'token_issuer_mismatch',
      async prepare() {
        const { user, session_id } = await signUp(server.url);
        const issued = await staging.gatehouse.accessTokens.issue({
          sub: user.id,
          sid: session_id,
          scope: 'openid',
        });
        expect(claimsOf(issued.token).iss).toBe(STAGING);
        return { token: issued.token };
      },
    },
    {
      name: 'a token for another audience than the resource server accepts (wrong audience)',
      code: 'token_audience_mismatch',
      async prepare() {
        const { access_token } = await signUp(server.url);
        return { token: access_token, verifier: apiVerifier, on: audienceServer };
      },
    },
    {
      name: 'a token issued 10 minutes in the future (issuer clock ahead)',
      code: 'token_not_yet_valid',
      prepare: async () => ({ token: (await signUp(aheadServer.url)).access_token }),
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.name}: ${testCase.code}, as the server's diagnosis and its own refusal say`, async () => {
      const { token, verifier: chosen = verifier, on = server } = await testCase.prepare();
      const result = await chosen.verify(token);
      expect(result).toMatchObject({
        ok: false,
        code: testCase.code,
        hint: reasonCodes[testCase.code as keyof typeof reasonCodes].hint,
        action: reasonCodes[testCase.code as keyof typeof reasonCodes].action,
      });
      expect((await diagnosis(token, on)).code).toBe(testCase.code);
      expect((await serverAnswer(token, on)).code).toBe(testCase.code);
      expect(JSON.stringify(result)).not.toContain(partsOf(token)[2] || token);
    });
  }

  it('a token of another type (typ JWT, not at+jwt): token_malformed, as the server refuses it', async () => {
    const { user, session_id } = await signUp(server.url);
    const signer = server.gatehouse.keyring.signer();
    const token = await new SignJWT({ sid: session_id, scope: 'openid' })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
      .setIssuer(server.url)
      .setAudience(server.url)
      .setSubject(user.id)
      .setJti('id-token-like')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signer.key);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, code: 'token_malformed' });
    expect((await serverAnswer(token)).code).toBe('token_malformed');
  });

  // Last: it moves the shared clock.
  it('an expired token, cached while it was valid: token_expired, as the server diagnoses it', async () => {
    const { access_token } = await signUp(server.url);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    clock.advance(11 * 60_000);
    admins.clear();
    expect(await verifier.verify(access_token)).toMatchObject({
      ok: false,
      code: 'token_expired',
      action: 'refresh',
      hint: reasonCodes.token_expired.hint,
    });
    expect((await diagnosis(access_token)).code).toBe('token_expired');
    expect((await serverAnswer(access_token)).code).toBe('token_expired');
  });
});
