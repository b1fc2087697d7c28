import { reasonCodes } from '@gatehouse/codes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from '../../server/test/support/admin.js';
import { call } from '../../server/test/support/http.js';
import { createTestDatabase, type TestDatabase } from '../../server/test/support/test-database.js';
import {
  offsetClock,
  startTestServer,
  type TestServer,
  useTestServer,
} from '../../server/test/support/test-server.js';
import { createVerifier } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { startSwitchableProxy } from './support/switchable-proxy.js';

const VERIFY_PATH = '/v1/keys/verify';

describe('API keys are checked by the server, and its answers reused for a short time', () => {
  let server: TestServer;
  let admin: string;
  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  function verifierWithCounter() {
    const clock = offsetClock();
    const counted = countingFetch();
    const verifier = createVerifier({
      issuer: server.url,
      clock,
      fetch: counted.fetch,
      apiKeyCache: { validSeconds: 10, invalidSeconds: 3 },
    });
    return { verifier, clock, asked: () => counted.count(VERIFY_PATH) };
  }

  it('a valid key: the client and scopes, asked once while the answer is fresh, again after', async () => {
    const { verifier, clock, asked } = verifierWithCounter();
    const { key, clientId, keyId } = await clientWithKey(server, admin, ['agent']);

    const results = await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verifyApiKey(key)));
    for (const result of results) {
      expect(result).toMatchObject({
        ok: true,
        client: { id: clientId },
        key: { id: keyId, scopes: ['agent'] },
      });
    }
    expect(asked()).toBe(1);
    expect(JSON.stringify(results[0])).not.toContain(key);
    clock.advance(9_000);
    expect((await verifier.verifyApiKey(key)).ok).toBe(true);
    expect(asked()).toBe(1);
    clock.advance(2_000);
    expect((await verifier.verifyApiKey(key)).ok).toBe(true);
    expect(asked()).toBe(2);

    expect(await verifier.verifyApiKey(key, { scope: 'admin' })).toMatchObject({
      ok: false,
      code: 'scope_insufficient',
      status: 403,
    });
  });

  it('a revoked key is refused with the server code and hint once the valid answer has aged out', async () => {
    const { verifier, clock, asked } = verifierWithCounter();
    const { key, keyId } = await clientWithKey(server, admin);
    expect((await verifier.verifyApiKey(key)).ok).toBe(true);
    expect((await call(server.url, 'DELETE', `/v1/admin/keys/${keyId}`, { token: admin })).status).toBe(204);

    expect((await verifier.verifyApiKey(key)).ok).toBe(true);
    clock.advance(10_000);
    const refused = await verifier.verifyApiKey(key);
    const fromServer = (await call(server.url, 'POST', VERIFY_PATH, { body: { key } })).body;
    expect(refused).toMatchObject({
      ok: false,
      code: 'key_revoked',
      hint: fromServer.hint,
      action: 'contact_admin',
    });
    expect(fromServer.code).toBe('key_revoked');

    // A refusal is reused for its own, shorter time.
    const before = asked();
    expect((await verifier.verifyApiKey(key)).ok).toBe(false);
    expect(asked()).toBe(before);
    clock.advance(3_000);
    expect((await verifier.verifyApiKey(key)).ok).toBe(false);
    expect(asked()).toBe(before + 1);
  });

  it('refusals name their reason: suspended client, malformed and foreign keys', async () => {
    const { verifier } = verifierWithCounter();
    const { key, clientId } = await clientWithKey(server, admin);
    const suspended = await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspended.status).toBe(200);
    expect(await verifier.verifyApiKey(key)).toMatchObject({ ok: false, code: 'client_inactive' });
    expect(await verifier.verifyApiKey(key.slice(0, -3))).toMatchObject({ ok: false, code: 'key_malformed' });
    const diagnosis = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: admin,
      body: { token: key },
    });
    expect(diagnosis.body.code).toBe('client_inactive');
  });
});

describe('API-key checks when the server cannot answer', () => {
  let database: TestDatabase;
  let server: TestServer;
  let proxy: Awaited<ReturnType<typeof startSwitchableProxy>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startSwitchableProxy();
    server = await startTestServer(database, {
      env: { GATEHOUSE_PUBLIC_URL: proxy.url, GATEHOUSE_KEY_VERIFY_RATE_LIMIT: '4' },
    });
    proxy.forwardTo(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('a 503 or a dropped connection answers a retryable code and is never kept as a refusal', async () => {
    const { key } = await clientWithKey(server, await adminToken(server));
    const verifier = createVerifier({ issuer: proxy.url });

    proxy.set('storage_unavailable');
    expect(await verifier.verifyApiKey(key)).toMatchObject({
      ok: false,
      code: 'storage_unavailable',
      action: 'retry',
      status: 503,
      retryAfterSeconds: 2,
    });
    proxy.set('drop');
    expect(await verifier.verifyApiKey(key)).toMatchObject({
      ok: false,
      code: 'issuer_unavailable',
      action: reasonCodes.issuer_unavailable.action,
      detail: expect.stringContaining(`${proxy.url}/v1/keys/verify`),
    });
    proxy.set('forward');
    expect(await verifier.verifyApiKey(key)).toMatchObject({ ok: true });
  });

  it('429 rate_limited is passed on with retry-after and asked again next time', async () => {
    const counted = countingFetch();
    const verifier = createVerifier({ issuer: proxy.url, fetch: counted.fetch });
    const keys = Array.from({ length: 6 }, (_, i) => `gk_00000000_${'A'.repeat(40)}${i}`);
    const results = [];
    for (const key of keys) results.push(await verifier.verifyApiKey(key));
    const limited = results.filter((result) => !result.ok && result.code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ action: 'retry', status: 429, retryAfterSeconds: expect.any(Number) });

    const before = counted.count(VERIFY_PATH);
    expect(await verifier.verifyApiKey(keys[5]!)).toMatchObject({ ok: false, code: 'rate_limited' });
    expect(counted.count(VERIFY_PATH)).toBe(before + 1);
  });
});
