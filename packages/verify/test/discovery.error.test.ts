import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import { offsetClock, startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { createVerifier } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { startSwitchableProxy } from './support/switchable-proxy.js';

// Regression: a discovery document naming another issuer was answered issuer_unavailable (503, retry), so a
// configuration error looked like an outage and clients retried it for ever.

const DISCOVERY = '/.well-known/openid-configuration';
const ELSEWHERE = 'https://auth.example.test';

describe('the discovery document names another issuer than the verifier was given', () => {
  let database: TestDatabase;
  let proxy: Awaited<ReturnType<typeof startSwitchableProxy>>;
  /** Reached at the proxy's URL, but its GATEHOUSE_PUBLIC_URL is another one. */
  let misconfigured: TestServer;
  /** The same installation once GATEHOUSE_PUBLIC_URL is corrected to the proxy's URL. */
  let corrected: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startSwitchableProxy();
    misconfigured = await startTestServer(database, { env: { GATEHOUSE_PUBLIC_URL: ELSEWHERE } });
    corrected = await startTestServer(database, { env: { GATEHOUSE_PUBLIC_URL: proxy.url } });
  });
  afterAll(async () => {
    await misconfigured?.close();
    await corrected?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('issuer_misconfigured naming both issuers, not to be retried, discovery read once per cooldown; verifies once corrected', async () => {
    const clock = offsetClock();
    const counted = countingFetch();
    const verifier = createVerifier({
      issuer: proxy.url,
      clock,
      fetch: counted.fetch,
      jwksCooldownSeconds: 30,
    });
    const { access_token } = await signUp(corrected.url);
    proxy.forwardTo(misconfigured.url);

    for (let attempt = 0; attempt < 5; attempt++) {
      expect(await verifier.verify(access_token)).toMatchObject({
        ok: false,
        code: 'issuer_misconfigured',
        action: 'contact_admin',
        status: 500,
        hint: expect.stringMatching(new RegExp(`"${ELSEWHERE}".*"${proxy.url}"`)),
        detail: expect.stringContaining(DISCOVERY),
      });
    }
    expect(counted.count(DISCOVERY)).toBe(1);

    clock.advance(30_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: false, code: 'issuer_misconfigured' });
    expect(counted.count(DISCOVERY)).toBe(2);

    proxy.forwardTo(corrected.url);
    clock.advance(30_000);
    expect(await verifier.verify(access_token)).toMatchObject({ ok: true });
    expect(counted.count(DISCOVERY)).toBe(3);
  });
});
