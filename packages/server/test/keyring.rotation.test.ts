import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

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

  it('verifies with jose over HTTP, and after `gatehouse keys rotate` old tokens still verify while new ones carry the new kid', async () => {
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

    const rotated = await gatehouseCli(['keys', 'rotate', '--json'], server.env);
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
