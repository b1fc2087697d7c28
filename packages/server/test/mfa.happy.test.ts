import { describe, expect, it } from 'vitest';
import { adminToken } from './support/admin.js';
import { call, signUp, uniqueEmail } from './support/http.js';
import { claimsOf, enableMfa, login, nextStep, totpAt, verify } from './support/mfa.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const BACKUP_CODE = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

describe('two-step verification: authenticator app (TOTP) and backup codes', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer(
    {
      clock,
      env: { GATEHOUSE_LOGIN_RATE_LIMIT: '0', GATEHOUSE_LOCKOUT_THRESHOLD: '50' },
    },
    (started) => {
      server = started.server;
    },
  );

  const me = async (token: string) => (await call(server.url, 'GET', '/v1/auth/me', { token })).body;
  const mfaToken = async (email: string) => {
    const reply = await login(server, email);
    expect(reply.status).toBe(200);
    expect(reply.body.mfa_required).toBe(true);
    return reply.body.mfa_token as string;
  };

  it('enrolls, confirms with a code from the app, and from then on login asks for the second step', async () => {
    const email = uniqueEmail('totp');
    const { access_token } = await signUp(server.url, email);
    expect((await me(access_token)).mfa_enabled).toBe(false);

    const enroll = await call(server.url, 'POST', '/v1/auth/mfa/totp/enroll', { token: access_token });
    expect(enroll.status).toBe(200);
    const secret: string = enroll.body.secret;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(enroll.body.otpauth_url);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe(`/127.0.0.1:${email}`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      secret,
      issuer: '127.0.0.1',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });

    // Enrolled but unconfirmed: nothing changes yet.
    expect((await login(server, email)).body.access_token).toBeDefined();
    expect((await me(access_token)).mfa_enabled).toBe(false);

    const wrong = await call(server.url, 'POST', '/v1/auth/mfa/totp/confirm', {
      token: access_token,
      body: { code: totpAt(secret, clock.now() - 5 * 60_000) },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('mfa_invalid');

    const confirm = await call(server.url, 'POST', '/v1/auth/mfa/totp/confirm', {
      token: access_token,
      body: { code: totpAt(secret, nextStep(clock)) },
    });
    expect(confirm.status).toBe(200);
    const codes: string[] = confirm.body.backup_codes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(BACKUP_CODE);

    expect((await me(access_token)).mfa_enabled).toBe(true);
    const again = await call(server.url, 'POST', '/v1/auth/mfa/totp/enroll', { token: access_token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('mfa_already_enabled');

    nextStep(clock);
    const first = await login(server, email);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      mfa_required: true,
      mfa_token: expect.stringMatching(/^gmt_/),
      expires_in: 300,
    });

    const code = totpAt(secret, clock.now());
    const signedIn = await verify(server, first.body.mfa_token, code);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    expect(signedIn.body.user).toMatchObject({ email, mfa_enabled: true });
    expect(signedIn.body.refresh_token).toMatch(/^grt_/);
    expect(claimsOf(signedIn.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await me(signedIn.body.access_token)).mfa_enabled).toBe(true);

    // The amr survives a refresh: it belongs to the session.
    const refreshed = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: signedIn.body.refresh_token },
    });
    expect(claimsOf(refreshed.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);

    // The same code, once more, on a new sign-in: refused (RFC 6238 §5.2, each code is good once).
    const replay = await verify(server, await mfaToken(email), code);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('mfa_invalid');
  });

  it('accepts the previous time step and refuses the one before it', async () => {
    const { access_token, user } = await signUp(server.url, uniqueEmail('window'));
    const { secret } = await enableMfa(server, access_token, clock);
    const email = user.email;

    nextStep(clock, 3);
    const previous = await verify(server, await mfaToken(email), totpAt(secret, clock.now() - 30_000));
    expect(previous.status).toBe(200);

    nextStep(clock, 3);
    const tooOld = await verify(server, await mfaToken(email), totpAt(secret, clock.now() - 60_000));
    expect(tooOld.status).toBe(401);
    expect(tooOld.body.code).toBe('mfa_invalid');
    const next = await verify(server, await mfaToken(email), totpAt(secret, clock.now() + 30_000));
    expect(next.status).toBe(200);

    const events = await call(server.url, 'GET', `/v1/admin/events?request_id=${tooOld.body.request_id}`, {
      token: await adminToken(server),
    });
    expect(events.body.events[0]).toMatchObject({
      type: 'mfa.verify',
      code: 'mfa_invalid',
      user_id: user.id,
      detail: { reason: 'wrong TOTP code' },
    });
  });

  it('signs in with a backup code once and only once, however it is typed', async () => {
    const { access_token, user } = await signUp(server.url, uniqueEmail('backup'));
    const { backupCodes } = await enableMfa(server, access_token, clock);

    const used = await verify(server, await mfaToken(user.email), backupCodes[0]!);
    expect(used.status).toBe(200);
    expect(claimsOf(used.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);

    const reused = await verify(server, await mfaToken(user.email), backupCodes[0]!);
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('mfa_invalid');

    const typed = ` ${backupCodes[1]!.toUpperCase().replace('-', ' ')} `;
    expect((await verify(server, await mfaToken(user.email), typed)).status).toBe(200);
    expect((await verify(server, await mfaToken(user.email), backupCodes[1]!)).status).toBe(401);
  });

  it('regenerates backup codes with a current TOTP code: the old ones stop working', async () => {
    const { access_token, user } = await signUp(server.url, uniqueEmail('regenerate'));
    const { secret, backupCodes } = await enableMfa(server, access_token, clock);
    const regenerate = (code: string) =>
      call(server.url, 'POST', '/v1/auth/mfa/backup-codes', { token: access_token, body: { code } });

    expect((await regenerate('000000')).body.code).toBe('mfa_invalid');
    // A backup code cannot buy new backup codes: only the authenticator app can.
    expect((await regenerate(backupCodes[0]!)).body.code).toBe('mfa_invalid');

    const fresh = await regenerate(totpAt(secret, clock.now()));
    expect(fresh.status).toBe(200);
    const newCodes: string[] = fresh.body.backup_codes;
    expect(newCodes).toHaveLength(10);
    expect(newCodes.filter((code) => backupCodes.includes(code))).toEqual([]);

    expect((await verify(server, await mfaToken(user.email), backupCodes[0]!)).status).toBe(401);
    expect((await verify(server, await mfaToken(user.email), backupCodes[5]!)).status).toBe(401);
    expect((await verify(server, await mfaToken(user.email), newCodes[0]!)).status).toBe(200);
  });

  it('turns MFA off only with a current code, and login gives tokens again', async () => {
    const { access_token, user } = await signUp(server.url, uniqueEmail('disable'));
    const { secret, backupCodes } = await enableMfa(server, access_token, clock);
    const disable = (body?: unknown) =>
      call(server.url, 'DELETE', '/v1/auth/mfa/totp', { token: access_token, body });

    expect((await disable()).body.code).toBe('validation_failed');
    const stale = await disable({ code: totpAt(secret, clock.now() - 3 * 60_000) });
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('mfa_invalid');
    expect((await me(access_token)).mfa_enabled).toBe(true);

    expect((await disable({ code: totpAt(secret, clock.now()) })).status).toBe(204);
    expect((await me(access_token)).mfa_enabled).toBe(false);
    const plain = await login(server, user.email);
    expect(plain.body.access_token).toBeDefined();
    expect(claimsOf(plain.body.access_token).amr).toEqual(['pwd']);
    expect((await disable({ code: backupCodes[0] })).body.code).toBe('mfa_not_enrolled');

    // On again with a new app, then off with a backup code (the phone is lost).
    const second = await enableMfa(server, access_token, clock);
    expect(second.secret).not.toBe(secret);
    expect((await verify(server, await mfaToken(user.email), totpAt(secret, clock.now()))).status).toBe(401);
    expect((await disable({ code: second.backupCodes[3] })).status).toBe(204);
    expect((await me(access_token)).mfa_enabled).toBe(false);
  });

  it('records each step as an event, and the login step as ok with mfa_required', async () => {
    const { access_token, user } = await signUp(server.url, uniqueEmail('events'));
    const { secret } = await enableMfa(server, access_token, clock);
    const first = await login(server, user.email);
    await verify(server, first.body.mfa_token, totpAt(secret, clock.now()));
    const admin = await adminToken(server);
    await server.gatehouse.events.flush();
    const events = (
      await call(server.url, 'GET', `/v1/admin/events?user_id=${user.id}&limit=50`, { token: admin })
    ).body.events as Array<{ type: string; code: string; detail: Record<string, unknown> | null }>;
    const seen = events.map((event) => `${event.type}:${event.code}`).reverse();
    expect(seen).toEqual(['signup:ok', 'mfa.enroll:ok', 'mfa.confirm:ok', 'login:ok', 'mfa.verify:ok']);
    expect(events.find((event) => event.type === 'login')?.detail).toMatchObject({ mfa_required: true });
    expect(events.find((event) => event.type === 'mfa.verify')?.detail).toMatchObject({ method: 'totp' });
  });

  it('describes every MFA route in the OpenAPI document', async () => {
    const openapi = (await call(server.url, 'GET', '/openapi.json')).body;
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/auth/mfa/verify',
        '/v1/auth/mfa/totp/enroll',
        '/v1/auth/mfa/totp/confirm',
        '/v1/auth/mfa/totp',
        '/v1/auth/mfa/backup-codes',
      ]),
    );
    expect(openapi.paths['/v1/auth/mfa/totp'].delete.requestBody).toBeDefined();
  });
});

describe('the authenticator app shows the installation by GATEHOUSE_NAME', () => {
  let server: TestServer;
  useTestServer({ env: { GATEHOUSE_NAME: 'Acme Accounts' } }, (started) => {
    server = started.server;
  });

  it('puts the name in the otpauth URL as its issuer and its label prefix', async () => {
    const email = uniqueEmail('named');
    const { access_token } = await signUp(server.url, email);
    const enroll = await call(server.url, 'POST', '/v1/auth/mfa/totp/enroll', { token: access_token });
    const url = new URL(enroll.body.otpauth_url);
    expect(url.searchParams.get('issuer')).toBe('Acme Accounts');
    expect(decodeURIComponent(url.pathname)).toBe(`/Acme Accounts:${email}`);
  });
});
