import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import { offsetClock, startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { createVerifier } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { startSwitchableProxy } from './support/switchable-proxy.js';

// The auto-logout incident, seen from a resource server: when the issuer cannot be reached the answer is
// "retry" (issuer_unavailable, 503), never a code that tells the client to sign out.

describe('the issuer cannot be reached', () => {
  let database: TestDatabase;
  let server: TestServer;
  let proxy: Awaited<ReturnType<typeof startSwitchableProxy>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startSwitchableProxy();
    server = await startTestServer(database, { env: { GATEHOUSE_PUBLIC_URL: proxy.url } });
    proxy.forwardTo(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('before any JWKS: issuer_unavailable with action retry, once per cooldown, then verifies when it is back', async () => {
    const clock = offsetClock();
    const counted = countingFetch();
    const verifier = createVerifier({
      issuer: proxy.url,
      clock,
      fetch: counted.fetch,
      jwksCooldownSeconds: 10,
    });
    const { access_token } = await signUp(server.url);

    proxy.set('drop');
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await verifier.verify(access_token)).toMatchObject({
        ok: false,
        code: 'issuer_unavailable',
        action: 'retry',
        status: 503,
        detail: expect.stringContaining('/.well-known/openid-configuration'),
      });
    }
    expect(counted.count('/.well-known/openid-configuration')).toBe(1);

    proxy.set('forward');
    expect(await verifier.verify(access_token)).toMatchObject({ ok: false, code: 'issuer_unavailable' });
    clock.advance(10_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
  });

  it('a JWKS that cannot be refreshed past its max age: the keys held keep verifying and the error is reported', async () => {
    const clock = offsetClock();
    const counted = countingFetch();
    const reported: Error[] = [];
    const verifier = createVerifier({
      issuer: proxy.url,
      clock,
      fetch: counted.fetch,
      jwksMaxAgeSeconds: 60,
      tokenCache: false,
      onJwksError: (error) => reported.push(error),
    });
    const { access_token } = await signUp(server.url);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });

    proxy.set('storage_unavailable');
    clock.advance(61_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    await expect.poll(() => reported.length).toBe(1);
    expect(counted.pending()).toBe(0);
    expect(reported[0]?.message).toContain('answered 503');
    expect(counted.jwksFetches()).toBe(2);

    proxy.set('forward');
    clock.advance(30_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    await expect.poll(() => counted.jwksFetches()).toBe(3);
    await expect.poll(() => counted.pending()).toBe(0);
    expect(reported).toHaveLength(1);
  });
});
