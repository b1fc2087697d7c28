import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { gatehouseCli } from './support/cli.js';
import { gatehouseCliWithInput } from './support/cli-stdin.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { enableMfa, login as mfaLogin, verify as mfaVerify, nextStep, totpAt } from './support/mfa.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { offsetClock, startTestServer, type TestServer, useTestServer } from './support/test-server.js';

// The incidents: a credential refused with a bare 401 and nobody able to say which check it failed.
// `doctor token` (and POST /v1/admin/diagnose) must name the check, the reason code and the fix.

const ISSUER = 'http://auth.example.test';
const STAGING = 'https://staging.example.test';
const OTHER = 'https://other.example.test';
const API_AUDIENCE = 'https://api.example.test';

interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

interface Diagnosis {
  kind: string;
  valid: boolean;
  code: string;
  checks: Check[];
  hint: string;
  preview: string;
  stripped: string[];
  server_time: string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, any>;

const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }).kid;

/** Changes a claim but keeps the header and signature: what an attacker (or a broken proxy) would send. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
  return `${header}.${b64({ ...claims, scope: 'openid profile email admin', tampered: true })}.${signature}`;
}

const refresh = (server: TestServer, token: string) =>
  call(server.url, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: token } });

/** An admin token per server, renewed when the (movable) clock has run past half its life. */
const adminTokens = new Map<TestServer, { token: string; at: number }>();
async function adminOn(server: TestServer): Promise<string> {
  const now = server.gatehouse.clock.now();
  const cached = adminTokens.get(server);
  if (cached && now - cached.at < 300_000) return cached.token;
  const token = await adminToken(server);
  adminTokens.set(server, { token, at: now });
  return token;
}

async function diagnose(server: TestServer, token: string): Promise<Diagnosis> {
  const reply = await call<Diagnosis>(server.url, 'POST', '/v1/admin/diagnose', {
    token: await adminOn(server),
    body: { token },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
}

interface Prepared {
  token: string;
  /** Texts (substrings or patterns) the named check's detail must contain. */
  detail?: (string | RegExp)[];
  hint?: (string | RegExp)[];
  /** The server to diagnose on (default: the main one). */
  on?: TestServer;
  /** The secret that must not appear anywhere in the diagnosis (default: the token itself). */
  secret?: string;
  stripped?: string[];
}

interface Case {
  name: string;
  kind: string;
  code: string;
  /** The check that fails (or, for a valid credential, one that must pass). */
  check: string;
  /** Checks that fail as well, before the verdict (e.g. the session of a deleted user is gone too). */
  alsoFailing?: string[];
  /** What the server itself answers for the credential: the doctor must predict it. */
  server?: 'me' | 'verify';
  prepare(): Promise<Prepared>;
}

describe('doctor token: every check of a credential, and a credential that fails exactly that check', () => {
  let database: TestDatabase;
  let otherDatabase: TestDatabase;
  /** The installation under diagnosis, with a clock the tests move. */
  let server: TestServer;
  /** Same database and keys, another public URL: signs tokens with this installation's key but another iss. */
  let stagingSameKeys: TestServer;
  /** Same database, same issuer, but a different GATEHOUSE_TOKEN_AUDIENCE. */
  let audienceServer: TestServer;
  /** Same database, a clock 10 minutes ahead. */
  let aheadServer: TestServer;
  /** Another installation (another database, other keys) with another issuer URL… */
  let otherInstallation: TestServer;
  /** …and the same installation again, configured with this installation's issuer URL. */
  let otherInstallationSameIssuer: TestServer;
  const clock = offsetClock();
  const aheadClock: Clock = { now: () => clock.now() + 10 * 60_000 };

  beforeAll(async () => {
    database = await createTestDatabase();
    otherDatabase = await createTestDatabase();
    server = await startTestServer(database, { clock, env: { GATEHOUSE_PUBLIC_URL: ISSUER } });
    stagingSameKeys = await startTestServer(database, { clock, env: { GATEHOUSE_PUBLIC_URL: STAGING } });
    audienceServer = await startTestServer(database, {
      clock,
      env: { GATEHOUSE_PUBLIC_URL: ISSUER, GATEHOUSE_TOKEN_AUDIENCE: API_AUDIENCE },
    });
    aheadServer = await startTestServer(database, {
      clock: aheadClock,
      env: { GATEHOUSE_PUBLIC_URL: ISSUER },
    });
    otherInstallation = await startTestServer(otherDatabase, { env: { GATEHOUSE_PUBLIC_URL: OTHER } });
    otherInstallationSameIssuer = await startTestServer(otherDatabase, {
      env: { GATEHOUSE_PUBLIC_URL: ISSUER },
    });
  });
  afterAll(async () => {
    for (const running of [
      server,
      stagingSameKeys,
      audienceServer,
      aheadServer,
      otherInstallation,
      otherInstallationSameIssuer,
    ]) {
      await running?.close();
    }
    await database?.drop();
    await otherDatabase?.drop();
  });

  const cases: Case[] = [
    {
      name: 'garbage',
      kind: 'unknown',
      code: 'token_malformed',
      check: 'structure',
      async prepare() {
        return { token: 'this is not a credential', detail: ['Not a JWT', 'grt_', 'gk_'] };
      },
    },
    {
      name: 'a JWT whose payload is not base64url JSON',
      kind: 'access_token',
      code: 'token_malformed',
      check: 'structure',
      server: 'me',
      async prepare() {
        const kid = server.gatehouse.keyring.signer().kid;
        return {
          token: `${b64({ alg: 'EdDSA', kid, typ: 'at+jwt' })}.${Buffer.from('not json').toString('base64url')}.c2lnbmF0dXJl`,
          detail: ['not base64url-encoded JSON'],
        };
      },
    },
    {
      // The server answers this one token_malformed: see the it.fails test at the end of this block.
      name: 'alg none',
      kind: 'access_token',
      code: 'token_alg_not_allowed',
      check: 'alg',
      async prepare() {
        const { access_token } = await signUp(server.url);
        const claims = claimsOf(access_token);
        return {
          token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`,
          detail: ['"none" is not one of EdDSA, ES256'],
        };
      },
    },
    {
      name: 'alg HS256 (a symmetric algorithm this server never signs with)',
      kind: 'access_token',
      code: 'token_alg_not_allowed',
      check: 'alg',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        const [, payload] = access_token.split('.');
        return {
          token: `${b64({ alg: 'HS256', kid: kidOf(access_token), typ: 'at+jwt' })}.${payload}.c2lnbmF0dXJl`,
          detail: ['"HS256" is not one of EdDSA, ES256'],
        };
      },
    },
    {
      name: 'a token from another installation with another issuer',
      kind: 'jwt',
      code: 'token_unknown_key',
      check: 'kid',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(otherInstallation.url);
        return {
          token: access_token,
          detail: [`Key ${kidOf(access_token)} is not in this keyring`],
          hint: [`Issued by "${OTHER}"`, `("${ISSUER}")`, 'another installation or environment'],
        };
      },
    },
    {
      name: 'a token from another installation sharing the issuer URL',
      kind: 'access_token',
      code: 'token_unknown_key',
      check: 'kid',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(otherInstallationSameIssuer.url);
        expect(claimsOf(access_token).iss).toBe(ISSUER);
        return {
          token: access_token,
          detail: ['is not in this keyring (active, next or retired)'],
          hint: ['This installation never held key', 'same issuer URL'],
        };
      },
    },
    {
      name: 'a tampered payload',
      kind: 'access_token',
      code: 'token_signature_invalid',
      check: 'signature',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        return {
          token: tamper(access_token),
          detail: [`The signature does not match key ${kidOf(access_token)}`],
        };
      },
    },
    {
      name: "a token signed with this installation's key for another issuer",
      kind: 'jwt',
      code: 'token_issuer_mismatch',
      check: 'iss',
      server: 'me',
      async prepare() {
        const { user, session_id } = await signUp(server.url);
        const issued = await stagingSameKeys.gatehouse.accessTokens.issue({
          sub: user.id,
          sid: session_id,
          scope: 'openid profile email',
        });
        expect(claimsOf(issued.token).iss).toBe(STAGING);
        return { token: issued.token, detail: [`"${STAGING}"`, `"${ISSUER}"`] };
      },
    },
    {
      name: 'a token for another audience than the diagnosing server accepts',
      kind: 'access_token',
      code: 'token_audience_mismatch',
      check: 'aud',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        return { token: access_token, on: audienceServer, detail: [ISSUER, API_AUDIENCE] };
      },
    },
    {
      name: 'an expired token (the clock moved 11 minutes)',
      kind: 'access_token',
      code: 'token_expired',
      check: 'exp',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        clock.advance(11 * 60_000);
        return {
          token: access_token,
          detail: [
            /^Expired at \d{4}-\d\d-\d\dT[\d:.]+Z, 1m( \d+s)? ago \(server time \d{4}-\d\d-\d\dT[\d:.]+Z, tolerance 30s\)$/,
          ],
        };
      },
    },
    {
      // Regression: this read "Expires … in 17s", an absolute difference.
      name: 'a token expired 16 s ago, still inside the 30 s clock tolerance',
      kind: 'access_token',
      code: 'ok',
      check: 'exp',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        clock.advance(claimsOf(access_token).exp * 1000 - clock.now() + 16_000);
        return {
          token: access_token,
          detail: [/^Expired at \S+, 1[67]s ago: still accepted within the 30 s clock tolerance/],
        };
      },
    },
    {
      name: 'a token whose iat and nbf are 10 minutes in the future (issuer clock ahead)',
      kind: 'access_token',
      code: 'token_not_yet_valid',
      check: 'nbf',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(aheadServer.url);
        return {
          token: access_token,
          detail: [/^Not valid before .*, in (10m|9m 5\ds) \(server time /, 'clock is ahead'],
        };
      },
    },
    {
      name: 'a token of a logged-out session',
      kind: 'access_token',
      code: 'session_revoked',
      check: 'session',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        expect((await call(server.url, 'POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
        return { token: access_token, detail: [/^Revoked at .*\(logout\)$/], hint: ['reason: logout'] };
      },
    },
    {
      name: 'a token of a user deleted through the admin API',
      kind: 'access_token',
      code: 'subject_not_found',
      check: 'subject',
      // Deleting a user deletes its sessions (cascade): the session is missing, the subject names why.
      alsoFailing: ['session'],
      server: 'me',
      async prepare() {
        const { access_token, user } = await signUp(server.url);
        const deleted = await call(server.url, 'DELETE', `/v1/admin/users/${user.id}`, {
          token: await adminOn(server),
        });
        expect(deleted.status).toBe(204);
        return {
          token: access_token,
          detail: [new RegExp(`^User ${user.id} was deleted at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`)],
          hint: ['deleted'],
        };
      },
    },
    {
      name: 'a token of a user disabled through the admin API (which revokes the sessions)',
      kind: 'access_token',
      code: 'session_revoked',
      check: 'session',
      server: 'me',
      async prepare() {
        const { access_token, user } = await signUp(server.url);
        const disabled = await call(server.url, 'PATCH', `/v1/admin/users/${user.id}`, {
          token: await adminOn(server),
          body: { disabled: true },
        });
        expect(disabled.status).toBe(200);
        return { token: access_token, detail: ['(user_disabled)'] };
      },
    },
    {
      name: 'a token of a user disabled by an import (the session is still live)',
      kind: 'access_token',
      code: 'user_disabled',
      check: 'account',
      server: 'me',
      async prepare() {
        const { access_token, user } = await signUp(server.url);
        const lines: string[] = [];
        for await (const record of server.gatehouse.userTransfer.exportUsers({ withoutMfa: true })) {
          if (record.id === user.id)
            lines.push(JSON.stringify({ ...record, disabled_at: new Date(clock.now()).toISOString() }));
        }
        expect((await server.gatehouse.userTransfer.importLines(lines)).updated).toBe(1);
        clock.advance(2_000); // past the server's 1 s session-view cache
        return { token: access_token, detail: [/^Disabled at /] };
      },
    },
    {
      name: 'a valid access token',
      kind: 'access_token',
      code: 'ok',
      check: 'account',
      server: 'me',
      async prepare() {
        const { access_token } = await signUp(server.url);
        return { token: access_token };
      },
    },
    {
      name: 'an unknown refresh token',
      kind: 'refresh_token',
      code: 'refresh_token_not_found',
      check: 'lookup',
      async prepare() {
        return { token: `grt_${'Q'.repeat(43)}`, detail: ['Never issued by this database'] };
      },
    },
    {
      name: 'a truncated refresh token',
      kind: 'refresh_token',
      code: 'refresh_token_not_found',
      check: 'structure',
      async prepare() {
        const { refresh_token } = await signUp(server.url);
        return { token: refresh_token.slice(0, -5), detail: ['truncated'] };
      },
    },
    {
      name: 'a refresh token used once, presented again inside the grace interval',
      kind: 'refresh_token',
      code: 'ok',
      check: 'rotation',
      async prepare() {
        const { refresh_token } = await signUp(server.url);
        expect((await refresh(server, refresh_token)).status).toBe(200);
        return { token: refresh_token, detail: ['inside the 10s grace interval'] };
      },
    },
    {
      name: 'a refresh token presented again after the grace interval',
      kind: 'refresh_token',
      code: 'refresh_token_reused',
      check: 'rotation',
      async prepare() {
        const { refresh_token, session_id } = await signUp(server.url);
        expect((await refresh(server, refresh_token)).status).toBe(200);
        clock.advance(11_000);
        return { token: refresh_token, detail: ['after the 10s grace interval: a reuse', session_id] };
      },
    },
    {
      name: 'a refresh token replayed to the server after the grace interval (family revoked)',
      kind: 'refresh_token',
      code: 'session_revoked',
      check: 'session',
      async prepare() {
        const { refresh_token } = await signUp(server.url);
        expect((await refresh(server, refresh_token)).status).toBe(200);
        clock.advance(11_000);
        const replay = await refresh(server, refresh_token);
        expect(replay.body.code).toBe('refresh_token_reused');
        return { token: refresh_token, detail: ['(refresh_token_reused)'], hint: ['refresh_token_reused'] };
      },
    },
    {
      name: 'an API key pasted with Bearer, quotes and a newline',
      kind: 'api_key',
      code: 'ok',
      check: 'input',
      server: 'verify',
      async prepare() {
        const { key } = await clientWithKey(server, await adminOn(server));
        return {
          token: `Bearer "${key}"\n`,
          secret: key,
          stripped: ['whitespace', 'bearer_prefix', 'quotes'],
          detail: ['whitespace', 'bearer_prefix', 'quotes'],
        };
      },
    },
    {
      name: 'a truncated API key',
      kind: 'api_key',
      code: 'key_malformed',
      check: 'format',
      server: 'verify',
      async prepare() {
        const { key } = await clientWithKey(server, await adminOn(server));
        return { token: key.slice(0, -6), detail: ['truncated'] };
      },
    },
    {
      name: 'an API key of another installation',
      kind: 'api_key',
      code: 'key_not_found',
      check: 'installation',
      server: 'verify',
      async prepare() {
        const { key } = await clientWithKey(otherInstallation, await adminOn(otherInstallation));
        return { token: key, detail: [`issued by installation ${key.split('_')[1]}`] };
      },
    },
    {
      name: 'a revoked API key',
      kind: 'api_key',
      code: 'key_revoked',
      check: 'revocation',
      server: 'verify',
      async prepare() {
        const admin = await adminOn(server);
        const { key, keyId } = await clientWithKey(server, admin);
        expect((await call(server.url, 'DELETE', `/v1/admin/keys/${keyId}`, { token: admin })).status).toBe(
          204,
        );
        return { token: key, detail: ['revoked at'] };
      },
    },
    {
      name: 'an API key rotated, presented after the grace period',
      kind: 'api_key',
      code: 'key_revoked',
      check: 'revocation',
      server: 'verify',
      async prepare() {
        const admin = await adminOn(server);
        const { key, keyId } = await clientWithKey(server, admin);
        const rotated = await call(server.url, 'POST', `/v1/admin/keys/${keyId}/rotate`, {
          token: admin,
          body: { grace_seconds: 5 },
        });
        expect(rotated.status).toBe(201);
        clock.advance(6_000);
        return { token: key, detail: ['rotated', rotated.body.preview] };
      },
    },
    {
      name: 'an expired API key',
      kind: 'api_key',
      code: 'key_expired',
      check: 'expiry',
      server: 'verify',
      async prepare() {
        const admin = await adminOn(server);
        const { clientId } = await clientWithKey(server, admin);
        const created = await call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, {
          token: admin,
          body: { name: 'short-lived', expires_in: 60 },
        });
        expect(created.status).toBe(201);
        clock.advance(61_000);
        return { token: created.body.key, detail: ['expired at'] };
      },
    },
    {
      name: 'an API key of a suspended client',
      kind: 'api_key',
      code: 'client_inactive',
      check: 'client',
      server: 'verify',
      async prepare() {
        const admin = await adminOn(server);
        const { key, clientId } = await clientWithKey(server, admin);
        const suspended = await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
          token: admin,
          body: { status: 'suspended' },
        });
        expect(suspended.status).toBe(200);
        return { token: key, detail: ['suspended', clientId] };
      },
    },
    {
      name: 'a valid API key',
      kind: 'api_key',
      code: 'ok',
      check: 'client',
      server: 'verify',
      async prepare() {
        const { key } = await clientWithKey(server, await adminOn(server));
        return { token: key };
      },
    },
  ];

  it.each(cases)('$name → $code, named by the $check check', async (c) => {
    const prepared = await c.prepare();
    const on = prepared.on ?? server;
    const diagnosis = await diagnose(on, prepared.token);
    const shown = JSON.stringify(diagnosis, null, 2);

    expect({ kind: diagnosis.kind, valid: diagnosis.valid, code: diagnosis.code }, shown).toEqual({
      kind: c.kind,
      valid: c.code === 'ok',
      code: c.code,
    });
    const named = diagnosis.checks.find((check) => check.name === c.check);
    expect(named, shown).toBeDefined();
    expect(named?.ok, shown).toBe(c.code === 'ok');
    for (const part of prepared.detail ?? []) expect(named?.detail, shown).toMatch(part);
    for (const part of prepared.hint ?? []) expect(diagnosis.hint, shown).toMatch(part);
    const failed = diagnosis.checks.filter((check) => check.ok === false).map((check) => check.name);
    expect(failed.sort(), shown).toEqual(c.code === 'ok' ? [] : [c.check, ...(c.alsoFailing ?? [])].sort());
    if (c.code === 'ok')
      expect(
        diagnosis.checks.every((check) => check.ok === true),
        shown,
      ).toBe(true);
    expect(diagnosis.hint.length).toBeGreaterThan(10);
    expect(Date.parse(diagnosis.server_time)).not.toBeNaN();
    expect(diagnosis.stripped).toEqual(prepared.stripped ?? []);
    if (prepared.stripped?.length) expect(diagnosis.checks[0]?.name).toBe('input');
    // A diagnosis is pasted into tickets and chats: it shows a preview, never the secret.
    const secret = prepared.secret ?? prepared.token;
    if (secret.length > 24) expect(shown).not.toContain(secret);

    // The doctor predicts what the server itself answers for the same credential.
    if (c.server === 'me') {
      const me = await call(on.url, 'GET', '/v1/auth/me', { token: prepared.token });
      if (c.code === 'ok') expect(me.status, me.text).toBe(200);
      else expect({ status: me.status, code: me.body.code }, me.text).toEqual({ status: 401, code: c.code });
    }
    if (c.server === 'verify') {
      const verified = await call(on.url, 'POST', '/v1/keys/verify', { body: { key: prepared.token } });
      expect(verified.body.valid, verified.text).toBe(c.code === 'ok');
      if (c.code !== 'ok') expect(verified.body.code, verified.text).toBe(c.code);
    }
  });

  // Regression: the server called an alg:none token malformed (empty signature) instead of naming the algorithm.
  it('the server refuses an alg:none token as token_alg_not_allowed, as the doctor does', async () => {
    const { access_token } = await signUp(server.url);
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${access_token.split('.')[1]}.`;
    expect((await diagnose(server, token)).code).toBe('token_alg_not_allowed');
    const me = await call(server.url, 'GET', '/v1/auth/me', { token });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('token_alg_not_allowed');
  });

  it('answers only admins: a user token gets 403 scope_insufficient, no token 401 token_missing', async () => {
    const { access_token } = await signUp(server.url);
    const asUser = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: access_token,
      body: { token: access_token },
    });
    expect(asUser.status).toBe(403);
    expect(asUser.body.code).toBe('scope_insufficient');
    const anonymous = await call(server.url, 'POST', '/v1/admin/diagnose', { body: { token: 'x' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('token_missing');
  });
});

describe('gatehouse doctor token on the command line says what the API says', () => {
  let database: TestDatabase;
  let server: TestServer;
  let scratch: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer(database);
    scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-doctor-cwd-'));
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const summary = (diagnosis: Diagnosis) => ({
    kind: diagnosis.kind,
    valid: diagnosis.valid,
    code: diagnosis.code,
    checks: diagnosis.checks.map(({ name, ok }) => ({ name, ok })),
    stripped: diagnosis.stripped,
    preview: diagnosis.preview,
  });
  const mark = (ok: boolean | null) => (ok === true ? '✔' : ok === false ? '✘' : '–');
  /** The `  ✔ name  detail` lines of the text output, as [mark, name]. */
  const checkLines = (stdout: string) =>
    stdout
      .split('\n')
      .map((line) => /^ {2}([✔✘–]) (\S+)/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]);

  it('prints every check the API lists, with the verdict and hint: a tampered access token, exit 1', async () => {
    const { access_token } = await signUp(server.url);
    const token = tamper(access_token);
    const result = await gatehouseCli(['doctor', 'token', token], server.env);
    expect(result.code, result.stderr).toBe(1);
    const viaApi = await diagnose(server, token);
    expect(viaApi.code).toBe('token_signature_invalid');
    expect(result.stdout.startsWith(`access_token ${viaApi.preview}\n`)).toBe(true);
    expect(checkLines(result.stdout)).toEqual(viaApi.checks.map((check) => [mark(check.ok), check.name]));
    expect(result.stdout).toMatch(/✘ signature {7}The signature does not match key \S+$/m);
    expect(result.stdout).toContain('✘ refused: token_signature_invalid');
    expect(result.stdout).toContain(viaApi.hint);
    expect(result.stdout).not.toContain(token);
  });

  it('`-` reads stdin: `echo $KEY | gatehouse doctor token -` notes the newline and says valid, exit 0', async () => {
    const { key } = await clientWithKey(server, await adminOn(server));
    const result = await gatehouseCliWithInput(['doctor', 'token', '-'], server.env, `  ${key}\n`);
    expect(result.code, result.stderr).toBe(0);
    const viaApi = await diagnose(server, `  ${key}\n`);
    expect(viaApi).toMatchObject({ kind: 'api_key', valid: true, stripped: ['whitespace'] });
    expect(checkLines(result.stdout)).toEqual(viaApi.checks.map((check) => [mark(check.ok), check.name]));
    expect(result.stdout).toMatch(/^ {2}✔ input {11}Stripped from the key: whitespace$/m);
    expect(result.stdout).toContain('✔ valid');
    expect(result.stdout).not.toContain(key);
  });

  it('`-` in text mode: a logged-out access token names the session check and the fix, exit 1', async () => {
    const { access_token } = await signUp(server.url);
    await call(server.url, 'POST', '/v1/auth/logout', { token: access_token });
    const result = await gatehouseCliWithInput(['doctor', 'token', '-'], server.env, `${access_token}\n`);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^access_token \S+…\S+\n/);
    expect(result.stdout).toMatch(/✘ session {9}Revoked at .*\(logout\)/);
    expect(result.stdout).toMatch(/✔ signature/);
    expect(result.stdout).toContain('✘ refused: session_revoked');
    expect(result.stdout).toContain('reason: logout');
    expect(result.stdout).not.toContain(access_token);
  });

  it('`-` in text mode: garbage is token_malformed with a hint on what to paste', async () => {
    const result = await gatehouseCliWithInput(['doctor', 'token', '-'], server.env, 'hello\n');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✘ structure');
    expect(result.stdout).toContain('✘ refused: token_malformed');
    expect(result.stdout).toContain('Paste the whole credential');
  });

  // Regression (fixed in 8bd9d38): `doctor` and `doctor token` declare the same options (--json, --data-dir,
  // --database-url) and commander hands them to the parent, so the subcommand must read both levels.
  it('--json with the token as an argument prints the diagnosis as JSON', async () => {
    const { access_token } = await signUp(server.url);
    const token = tamper(access_token);
    const result = await gatehouseCli(['doctor', 'token', '--json', token], server.env);
    expect(result.code, result.stderr).toBe(1);
    const diagnosis = JSON.parse(result.stdout) as Diagnosis;
    expect(diagnosis).toMatchObject({ kind: 'access_token', valid: false, code: 'token_signature_invalid' });
    expect(diagnosis.checks.find((check) => check.name === 'signature')?.ok).toBe(false);
    expect(summary(diagnosis)).toEqual(summary(await diagnose(server, token)));
  });

  it('`doctor token - --json` reads stdin and prints JSON with the stripped newline', async () => {
    const { key } = await clientWithKey(server, await adminOn(server));
    const result = await gatehouseCliWithInput(['doctor', 'token', '-', '--json'], server.env, `${key}\n`);
    expect(result.code, result.stderr).toBe(0);
    const diagnosis = JSON.parse(result.stdout) as Diagnosis;
    expect(diagnosis).toMatchObject({ kind: 'api_key', valid: true, stripped: ['whitespace'] });
    expect(diagnosis.checks[0]).toMatchObject({ name: 'input', ok: true });
    expect(summary(diagnosis)).toEqual(summary(await diagnose(server, `${key}\n`)));
  });

  // Before the fix the flags were ignored: the command opened (and created) ./.gatehouse in the working
  // directory, a brand-new installation, and called a valid token foreign.
  it('--data-dir and --database-url choose the installation the token is checked against', async () => {
    const { access_token } = await signUp(server.url);
    const result = await gatehouseCliWithInput(
      ['doctor', 'token', access_token, '--data-dir', database.dataDir, '--database-url', database.url],
      { GATEHOUSE_LOG_LEVEL: 'silent', GATEHOUSE_PORT: server.env.GATEHOUSE_PORT ?? '' },
      '',
      { cwd: scratch },
    );
    const created = await stat(path.join(scratch, '.gatehouse')).then(
      () => true,
      () => false,
    );
    expect(created, 'created ./.gatehouse in the working directory').toBe(false);
    expect(result.stdout).toContain('✔ valid');
    expect(result.code).toBe(0);
  });
});

describe('doctor token agrees with the server on session state', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer({ clock, env: { GATEHOUSE_SESSION_IDLE_TIMEOUT: '60s' } }, (started) => {
    server = started.server;
  });

  // Regression: the doctor ignored the idle timeout the server enforces.
  it('a session idle past GATEHOUSE_SESSION_IDLE_TIMEOUT is session_expired for both', async () => {
    const { access_token, refresh_token } = await signUp(server.url);
    clock.advance(120_000);
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: access_token });
    expect(me.body.code).toBe('session_expired');
    const viaRefresh = await refresh(server, refresh_token);
    expect(viaRefresh.body.code).toBe('session_expired');
    for (const token of [access_token, refresh_token]) {
      const diagnosis = await diagnose(server, token);
      expect(diagnosis).toMatchObject({ valid: false, code: 'session_expired' });
      expect(diagnosis.checks.find((check) => check.name === 'session')?.ok).toBe(false);
    }
  });

  // Regression: a token whose session is missing was diagnosed valid while the server refused it.
  it('a token whose session is missing from the database is not valid', async () => {
    const { access_token, session_id } = await signUp(server.url);
    await server.gatehouse.store.db.deleteFrom('sessions').where('id', '=', session_id).execute();
    clock.advance(2_000); // past the 1 s session-view cache
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: access_token });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('subject_not_found');
    const diagnosis = await diagnose(server, access_token);
    expect(diagnosis.checks.find((check) => check.name === 'session')?.ok).toBe(false);
    expect(diagnosis).toMatchObject({ valid: false, code: 'subject_not_found' });
  });
});

describe('doctor token explains mfa tokens and session cookies with the verdict their endpoints give', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer({ clock }, (started) => {
    server = started.server;
  });

  async function mfaAccount() {
    const email = uniqueEmail('mfa');
    const { access_token } = await signUp(server.url, email);
    const { secret } = await enableMfa(server, access_token, clock);
    const mfaToken = async () => (await mfaLogin(server, email)).body.mfa_token as string;
    return { secret, mfaToken };
  }

  it('a pending mfa_token is valid, and completing it with a right code succeeds', async () => {
    const { secret, mfaToken } = await mfaAccount();
    const token = await mfaToken();
    expect(await diagnose(server, token)).toMatchObject({ kind: 'mfa_token', valid: true, code: 'ok' });
    expect((await mfaVerify(server, token, totpAt(secret, clock.now()))).status).toBe(200);
  });

  it('a used, an expired and an unknown mfa_token are mfa_token_invalid for the doctor and the endpoint', async () => {
    const { secret, mfaToken } = await mfaAccount();
    const used = await mfaToken();
    expect((await mfaVerify(server, used, totpAt(secret, clock.now()))).status).toBe(200);
    const expired = await mfaToken();
    const unknown = `gmt_${'Q'.repeat(43)}`;
    clock.advance(6 * 60_000);
    for (const token of [used, expired, unknown]) {
      const diagnosis = await diagnose(server, token);
      expect(diagnosis).toMatchObject({ kind: 'mfa_token', valid: false, code: 'mfa_token_invalid' });
      expect(diagnosis.checks.at(-1)?.ok).toBe(false);
      const answer = await mfaVerify(server, token, totpAt(secret, nextStep(clock)));
      expect(answer.body.code).toBe('mfa_token_invalid');
    }
  });

  it('a session cookie: valid while signed in, session_revoked after logout, for the doctor and the server', async () => {
    const email = uniqueEmail('cookie');
    await signUp(server.url, email);
    const { body, headers } = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password: PASSWORD, mode: 'cookie' },
    });
    const cookie = /gatehouse_session=(gcs_[\w-]+)/.exec(headers.get('set-cookie') ?? '')?.[1];
    expect(cookie, JSON.stringify(body)).toBeDefined();
    const sent = { headers: { cookie: `gatehouse_session=${cookie}` } };
    expect(await diagnose(server, cookie!)).toMatchObject({ kind: 'session_cookie', valid: true });
    const logout = await call(server.url, 'POST', '/v1/auth/logout', {
      headers: { ...sent.headers, 'x-csrf-token': body.csrf_token },
    });
    expect(logout.status).toBe(204);
    expect((await call(server.url, 'GET', '/v1/auth/me', sent)).body.code).toBe('session_revoked');
    expect(await diagnose(server, cookie!)).toMatchObject({ valid: false, code: 'session_revoked' });
  });

  it('text that says nothing of its kind is judged as the named endpoint judges it', async () => {
    const named = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: await adminOn(server),
      body: { token: 'GK_NOT_A_KEY', kind: 'api_key' },
    });
    expect(named.body).toMatchObject({ kind: 'api_key', code: 'key_malformed' });
    const verify = await call(server.url, 'POST', '/v1/keys/verify', { body: { key: 'GK_NOT_A_KEY' } });
    expect(verify.body.code).toBe('key_malformed');
    const empty = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: await adminOn(server),
      body: { token: ' \n' },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('validation_failed');
  });
});
