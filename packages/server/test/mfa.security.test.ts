import { describe, expect, it } from 'vitest';
import { claimTotpStep, consumeBackupCode } from '../src/store/mfa-store.js';
import { adminToken } from './support/admin.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { enableMfa, login, nextStep, totpAt, verify } from './support/mfa.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const withoutRequestId = ({ request_id: _id, ...body }: Record<string, unknown>) => body;

describe('the second step cannot be skipped, replayed, raced or guessed', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer(
    {
      clock,
      env: {
        GATEHOUSE_LOGIN_RATE_LIMIT: '0',
        GATEHOUSE_LOCKOUT_THRESHOLD: '3',
        GATEHOUSE_PASSWORD_HASH_QUEUE: '200',
      },
    },
    (started) => {
      server = started.server;
    },
  );

  /** A signed-up user with a confirmed authenticator app. */
  async function mfaUser(label: string) {
    const email = uniqueEmail(label);
    const { access_token, user } = await signUp(server.url, email);
    return {
      email,
      userId: user.id,
      accessToken: access_token,
      ...(await enableMfa(server, access_token, clock)),
    };
  }
  const mfaToken = async (email: string) => (await login(server, email)).body.mfa_token as string;
  const eventOf = async (requestId: string) => {
    const admin = await adminToken(server);
    return (await call(server.url, 'GET', `/v1/admin/events?request_id=${requestId}`, { token: admin })).body
      .events[0];
  };

  it('gives no token and no account data before the second step, and an mfa_token is no access token', async () => {
    const { email } = await mfaUser('nothing-yet');
    const first = await login(server, email);
    expect(Object.keys(first.body).sort()).toEqual(['expires_in', 'mfa_required', 'mfa_token']);
    const asBearer = await call(server.url, 'GET', '/v1/auth/me', { token: first.body.mfa_token });
    expect(asBearer.status).toBe(401);
    expect(asBearer.body.code).toBe('token_malformed');
    const asRefresh = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: first.body.mfa_token },
    });
    expect(asRefresh.status).toBe(400);
  });

  it('uses an mfa_token once: a second verify with another valid code is refused as mfa_token_invalid', async () => {
    const { email, secret, backupCodes } = await mfaUser('once');
    const token = await mfaToken(email);
    expect((await verify(server, token, totpAt(secret, clock.now()))).status).toBe(200);
    const again = await verify(server, token, backupCodes[0]!);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('mfa_token_invalid');
    expect(again.body.action).toBe('reauthenticate');
    expect(again.body.detail).toMatch(/already used/);
    // The refused attempt did not spend the backup code.
    expect((await verify(server, await mfaToken(email), backupCodes[0]!)).status).toBe(200);
  });

  it('lets a wrong code be retyped, but expires the mfa_token after 5 minutes', async () => {
    const { email, secret } = await mfaUser('expiring');
    const token = await mfaToken(email);
    expect((await verify(server, token, '123456')).body.code).toBe('mfa_invalid');
    expect((await verify(server, token, totpAt(secret, clock.now()))).status).toBe(200);

    const late = await mfaToken(email);
    clock.advance(6 * 60_000);
    nextStep(clock);
    const expired = await verify(server, late, totpAt(secret, clock.now()));
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('mfa_token_invalid');
    expect(expired.body.detail).toMatch(/expired at/);

    for (const garbage of ['gmt_nope', `gmt_${'A'.repeat(43)}`, 'eyJhbGciOiJub25lIn0.e30.']) {
      const reply = await verify(server, garbage, totpAt(secret, clock.now()));
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('mfa_token_invalid');
    }
  });

  it('lets exactly one of 20 concurrent sign-ins with one valid code through', async () => {
    const { email, secret } = await mfaUser('race');
    const tokens = await Promise.all(Array.from({ length: 20 }, () => mfaToken(email)));
    expect(new Set(tokens).size).toBe(20);
    const code = totpAt(secret, clock.now());
    const replies = await Promise.all(tokens.map((token) => verify(server, token, code)));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    const refused = replies.filter((reply) => reply.status !== 200);
    expect(refused).toHaveLength(19);
    for (const reply of refused) {
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('mfa_invalid');
    }
  });

  it('completes one mfa_token once when raced with different codes, and spends only the winning code', async () => {
    const { email, userId, backupCodes } = await mfaUser('race-token');
    const token = await mfaToken(email);
    const replies = await Promise.all(backupCodes.slice(0, 8).map((code) => verify(server, token, code)));
    const winners = replies.flatMap((reply, i) => (reply.status === 200 ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 200))
      expect(reply.body.code).toBe('mfa_token_invalid');
    const unused = await server.gatehouse.store.db
      .selectFrom('mfa_backup_codes')
      .select('id')
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .execute();
    expect(unused).toHaveLength(9);
    const loser = backupCodes.slice(0, 8).find((_, i) => i !== winners[0])!;
    expect((await verify(server, await mfaToken(email), loser)).status).toBe(200);
  });

  it('locks the account after guessed codes: then even the right code is refused like a wrong one', async () => {
    const { email, secret } = await mfaUser('guessed');
    const token = await mfaToken(email);
    const guesses = [];
    // Threshold 3: two wrong codes, then the right password again — which must not reset the count — then two
    // more: the third locks the account and the fourth, counted while locked, lengthens the lock to 2 s.
    for (const guess of ['000000', '111111']) guesses.push(await verify(server, token, guess));
    const again = await mfaToken(email);
    for (const guess of ['222222', '333333']) guesses.push(await verify(server, again, guess));
    for (const reply of guesses) expect(reply.body.code).toBe('mfa_invalid');

    const right = await verify(server, again, totpAt(secret, clock.now()));
    expect(right.status).toBe(401);
    expect(withoutRequestId(right.body)).toEqual(withoutRequestId(guesses[0]!.body));
    expect(right.headers.get('content-type')).toBe(guesses[0]!.headers.get('content-type'));
    expect(await eventOf(right.body.request_id)).toMatchObject({
      type: 'mfa.verify',
      code: 'account_locked',
    });
    // The lock is the account's: the password step is refused too, as a wrong password.
    const password = await login(server, email, PASSWORD);
    expect(password.status).toBe(401);
    expect(password.body.code).toBe('invalid_credentials');

    clock.advance(16 * 60_000);
    nextStep(clock);
    expect((await verify(server, await mfaToken(email), totpAt(secret, clock.now()))).status).toBe(200);
  });

  it('counts guessed codes on disable too, so a stolen access token cannot brute-force MFA off', async () => {
    const { accessToken, secret } = await mfaUser('disable-guess');
    const disable = (code: string) =>
      call(server.url, 'DELETE', '/v1/auth/mfa/totp', { token: accessToken, body: { code } });
    for (const guess of ['000001', '000002', '000003', 'abcde-fghjk', '000004', '000005']) {
      expect((await disable(guess)).body.code).toBe('mfa_invalid');
    }
    const right = await disable(totpAt(secret, clock.now()));
    expect(right.status).toBe(401);
    expect(right.body.code).toBe('mfa_invalid');
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: accessToken })).body.mfa_enabled).toBe(
      true,
    );
  });

  // On SQLite requests barely interleave; this pins the atomic claims themselves on every dialect.
  it('claims a TOTP step and a backup code once each at the storage level, however many try at once', async () => {
    const { userId } = await mfaUser('storage');
    const db = server.gatehouse.store.db;
    const { last_step } = await db
      .selectFrom('mfa_totp')
      .select('last_step')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    const step = Number(last_step) + 5;
    const claims = await Promise.all(Array.from({ length: 10 }, () => claimTotpStep(db, userId, step)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await claimTotpStep(db, userId, step - 1)).toBe(false);
    expect(await claimTotpStep(db, userId, step + 1)).toBe(true);

    const { code_hash } = await db
      .selectFrom('mfa_backup_codes')
      .select('code_hash')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    const uses = await Promise.all(
      Array.from({ length: 10 }, () => consumeBackupCode(db, userId, code_hash, clock.now())),
    );
    expect(uses.filter(Boolean)).toHaveLength(1);
  });

  it('stores the TOTP secret sealed and backup codes only as hashes', async () => {
    const { userId, secret, backupCodes } = await mfaUser('at-rest');
    const db = server.gatehouse.store.db;
    const totp = await db
      .selectFrom('mfa_totp')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    expect(totp.secret_sealed).toMatch(/^v1\./);
    const codes = await db.selectFrom('mfa_backup_codes').selectAll().where('user_id', '=', userId).execute();
    expect(codes).toHaveLength(10);
    const everything = JSON.stringify([
      await db.selectFrom('mfa_totp').selectAll().execute(),
      await db.selectFrom('mfa_backup_codes').selectAll().execute(),
      await db.selectFrom('mfa_challenges').selectAll().execute(),
      await db.selectFrom('users').selectAll().execute(),
      await db.selectFrom('events').selectAll().execute(),
    ]);
    expect(everything).not.toContain(secret);
    expect(everything.toLowerCase()).not.toContain(secret.toLowerCase());
    for (const code of backupCodes) {
      expect(everything).not.toContain(code);
      expect(everything).not.toContain(code.replace('-', ''));
    }
  });
});
