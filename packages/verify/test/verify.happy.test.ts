import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { gatehouseCli } from '../../server/test/support/cli.js';
import { call, PASSWORD, signUp, uniqueEmail } from '../../server/test/support/http.js';
import { offsetClock, type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createVerifier } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('a resource server verifies Gatehouse access tokens locally from the JWKS', () => {
  let server: TestServer;
  useTestServer({ env: { GATEHOUSE_KEYRING_REFRESH_SECONDS: '1' } }, (started) => {
    server = started.server;
  });

  it('discovers the JWKS once, then verifies many tokens without asking the server again', async () => {
    const counted = countingFetch();
    const verifier = createVerifier({ issuer: server.url, fetch: counted.fetch });
    const signedUp = await Promise.all([signUp(server.url), signUp(server.url), signUp(server.url)]);

    for (const { access_token, user, session_id } of signedUp) {
      const result = await verifier.verify(access_token);
      expect(result).toMatchObject({ ok: true, claims: { sub: user.id, sid: session_id, iss: server.url } });
    }
    expect(counted.count('/.well-known/openid-configuration')).toBe(1);
    expect(counted.jwksFetches()).toBe(1);
    expect(counted.count('/v1/auth/me')).toBe(0);
  });

  it('answers a repeated token from its cache with the same frozen claims, and stops at exp', async () => {
    const clock = offsetClock();
    const verifier = createVerifier({ issuer: server.url, clock });
    const { access_token, user } = await signUp(server.url);

    const first = await verifier.verify(access_token);
    const again = await verifier.verify(access_token);
    expect(first.ok && first.claims.sub).toBe(user.id);
    expect(again).toBe(first);
    expect(Object.isFrozen(first.ok && first.claims)).toBe(true);

    // Ten minutes of life, thirty seconds of skew: the cache answers as a fresh verification would.
    clock.advance(600_000 + 10_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    clock.advance(25_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: false, code: 'token_expired' });
  });

  it('after `gatehouse keys rotate` tokens of the new key verify with no extra fetch; a key never seen costs one', async () => {
    const clock = offsetClock();
    const counted = countingFetch();
    const verifier = createVerifier({
      issuer: server.url,
      clock,
      fetch: counted.fetch,
      jwksCooldownSeconds: 30,
    });
    const email = uniqueEmail();
    const before = (await signUp(server.url, email)).access_token;
    expect(await verifier.verify(before)).toMatchObject({ ok: true });
    expect(counted.jwksFetches()).toBe(1);

    const login = async () =>
      (await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).body
        .access_token as string;
    const rotated = await gatehouseCli(['keys', 'rotate', '--force', '--json'], server.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { activated } = JSON.parse(rotated.stdout) as { activated: string };
    await expect.poll(async () => kidOf(await login()), { timeout: 10_000, interval: 200 }).toBe(activated);

    // Gatehouse publishes the next key before it signs with it: the verifier already holds it.
    const afterRotation = await login();
    expect(await verifier.verify(afterRotation)).toMatchObject({ ok: true });
    expect(await verifier.verify(before)).toMatchObject({ ok: true });
    expect(counted.jwksFetches()).toBe(1);

    // Two rotations, the second forced: the key now signing was created after the verifier's fetch.
    const second = await server.gatehouse.keyring.rotate({ force: true });
    const unseen = await login();
    expect(kidOf(unseen)).toBe(second.activated);
    expect(await verifier.verify(unseen)).toMatchObject({
      ok: false,
      code: 'token_unknown_key',
      detail: expect.stringContaining(second.activated),
    });
    expect(counted.jwksFetches()).toBe(1);

    clock.advance(31_000);
    const tokens = await Promise.all([1, 2, 3, 4].map(() => login()));
    const results = await Promise.all([...tokens, unseen, unseen].map((token) => verifier.verify(token)));
    for (const result of results) expect(result).toMatchObject({ ok: true });
    expect(counted.jwksFetches()).toBe(2);
    for (const token of tokens) expect(await verifier.verify(token)).toMatchObject({ ok: true });
    expect(counted.jwksFetches()).toBe(2);
  });
});
