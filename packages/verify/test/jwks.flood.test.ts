import { randomBytes } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { adminToken } from '../../server/test/support/admin.js';
import { call, signUp } from '../../server/test/support/http.js';
import { offsetClock, type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createVerifier } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';

// The attack: tokens with made-up kids, each one a reason to fetch the JWKS again, turn every resource server
// into a load generator aimed at the auth server. At most one fetch per cooldown, however many arrive.

describe('a flood of tokens with unknown kids', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  async function forgedTokens(count: number): Promise<string[]> {
    const { privateKey } = await generateKeyPair('EdDSA');
    return Promise.all(
      Array.from({ length: count }, () =>
        new SignJWT({ scope: 'openid' })
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: randomBytes(16).toString('base64url') })
          .setIssuer(server.url)
          .setAudience(server.url)
          .setSubject('01900000-0000-7000-8000-000000000000')
          .setJti(randomBytes(8).toString('hex'))
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey),
      ),
    );
  }

  it('1,000 tokens with random kids make at most one JWKS fetch per cooldown, and each is token_unknown_key', async () => {
    const clock = offsetClock();
    const counted = countingFetch();
    const verifier = createVerifier({
      issuer: server.url,
      clock,
      fetch: counted.fetch,
      jwksCooldownSeconds: 30,
    });
    const { access_token } = await signUp(server.url);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    expect(counted.jwksFetches()).toBe(1);

    const forged = await forgedTokens(1000);
    const codes = async (tokens: string[]) =>
      new Set(
        (await Promise.all(tokens.map((token) => verifier.verify(token)))).map(
          (result) => !result.ok && result.code,
        ),
      );

    // Inside the cooldown of the first fetch: none at all.
    expect(await codes(forged)).toEqual(new Set(['token_unknown_key']));
    expect(counted.jwksFetches()).toBe(1);

    // Past it, all at once: one fetch shared by the thousand; then one by one in the same window: none.
    clock.advance(30_000);
    expect(await codes(forged)).toEqual(new Set(['token_unknown_key']));
    expect(counted.jwksFetches()).toBe(2);
    for (const token of forged) expect((await verifier.verify(token)).ok).toBe(false);
    expect(counted.jwksFetches()).toBe(2);

    // The next window: one more, while a real token is still answered throughout.
    clock.advance(30_000);
    expect(await codes(forged.slice(0, 500))).toEqual(new Set(['token_unknown_key']));
    expect(counted.jwksFetches()).toBe(3);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    expect(counted.count('/.well-known/openid-configuration')).toBe(1);

    // The server's own diagnosis of a forged token gives the same code.
    const diagnosis = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: await adminToken(server),
      body: { token: forged[0] },
    });
    expect(diagnosis.body.code).toBe('token_unknown_key');
  });
});
