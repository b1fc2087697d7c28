import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { toIso } from '../src/clock.js';
import { GatehouseError } from '../src/errors/gatehouse-error.js';
import { JWKS_MAX_AGE_SECONDS } from '../src/keyring/keyring.js';
import { gatehouseCli } from './support/cli.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('an outside resource server verifies tokens across a key rotation', () => {
  let server: TestServer;
  useTestServer({ env: { GATEHOUSE_KEYRING_REFRESH_SECONDS: '1' } }, (started) => {
    server = started.server;
  });

  async function outsideVerifier() {
    const discovery = (await call(server.url, 'GET', '/.well-known/openid-configuration')).body;
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    return (token: string) =>
      jwtVerify(token, jwks, { issuer: discovery.issuer, audience: discovery.issuer });
  }

  it('refuses `gatehouse keys rotate` while the next key is younger than the JWKS cache, saying when it will be safe', async () => {
    const before = await gatehouseCli(['keys', 'list', '--json'], server.env);
    const next = JSON.parse(before.stdout).keys.find((key: { state: string }) => key.state === 'next');
    const refused = await gatehouseCli(['keys', 'rotate'], server.env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('rotation_too_soon');
    expect(refused.stderr).toContain(next.kid);
    expect(refused.stderr).toContain(
      toIso(Date.parse(next.created_at) + server.gatehouse.keyring.rotationWaitSeconds * 1000),
    );
    expect(refused.stderr).toContain('--force');
    const after = await gatehouseCli(['keys', 'list', '--json'], server.env);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
  });

  it('verifies with jose over HTTP, and after `gatehouse keys rotate --force` old tokens still verify while new ones carry the new kid', async () => {
    const email = uniqueEmail();
    const before = (await signUp(server.url, email)).access_token;
    const verify = await outsideVerifier();
    const { payload } = await verify(before);
    expect(payload.iss).toBe(server.url);

    const jwksBefore = (await call(server.url, 'GET', '/.well-known/jwks.json')).body.keys.map(
      (k: { kid: string }) => k.kid,
    );
    expect(jwksBefore).toHaveLength(2);
    const nextKid = jwksBefore[1];

    const rotated = await gatehouseCli(['keys', 'rotate', '--force', '--json'], server.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ retired: kidOf(before), activated: nextKid });

    let after = before;
    for (let attempt = 0; attempt < 40 && kidOf(after) === kidOf(before); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = (await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).body
        .access_token;
    }
    expect(kidOf(after)).toBe(nextKid);

    const freshVerifier = await outsideVerifier();
    await expect(freshVerifier(before)).resolves.toBeTruthy();
    await expect(verify(after)).resolves.toBeTruthy();
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: before })).status).toBe(200);

    const jwksAfter = (await call(server.url, 'GET', '/.well-known/jwks.json')).body.keys.map(
      (k: { kid: string }) => k.kid,
    );
    expect(jwksAfter[0]).toBe(nextKid);
    expect(jwksAfter).toContain(kidOf(before));
    expect(jwksAfter).toHaveLength(3);
  });
});

// Regression: two rotations in a row promoted a key published seconds before, which verifiers holding a cached
// JWKS did not have, so they refused every token it signed.
describe('a rotation waits until the next key has been in JWKS for the cache lifetime', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer({ clock }, (started) => {
    server = started.server;
  });

  const rotate = (options?: { force: boolean }) => server.gatehouse.keyring.rotate(options);
  const refusalOf = (attempt: Promise<unknown>) =>
    attempt.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('publishes JWKS with that cache lifetime', async () => {
    const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
    expect(jwks.headers.get('cache-control')).toBe(`public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  });

  it('refuses until every instance published the next key and cached JWKS expired, then rotates, then refuses the newer next key', async () => {
    const next = server.gatehouse.keyring.list().find((key) => key.state === 'next')!;
    const wait = server.gatehouse.keyring.rotationWaitSeconds;
    expect(wait).toBe(JWKS_MAX_AGE_SECONDS + server.gatehouse.config.keyringRefreshSeconds);
    const safeFrom = next.createdAt + wait * 1000;
    clock.advance(safeFrom - clock.now() - 1000);
    const early = await refusalOf(rotate());
    expect(early).toBeInstanceOf(GatehouseError);
    expect(early).toMatchObject({ code: 'rotation_too_soon', retryAfterSeconds: 1 });
    expect((early as GatehouseError).detail).toContain(next.kid);
    expect((early as GatehouseError).detail).toContain(toIso(safeFrom));
    expect(server.gatehouse.keyring.signer().kid).not.toBe(next.kid);

    clock.advance(1000);
    expect(await rotate()).toMatchObject({ activated: next.kid });
    expect(await refusalOf(rotate())).toMatchObject({
      code: 'rotation_too_soon',
      retryAfterSeconds: wait,
    });
    expect(server.gatehouse.keyring.signer().kid).toBe(next.kid);
  });

  it('rotates at once when forced (a key that must stop signing now)', async () => {
    const next = server.gatehouse.keyring.list().find((key) => key.state === 'next')!;
    expect(await rotate({ force: true })).toMatchObject({ activated: next.kid });
    expect(server.gatehouse.keyring.signer().kid).toBe(next.kid);
  });
});
