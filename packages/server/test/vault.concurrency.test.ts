import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVaultConnectionByName, takeRefreshLease } from '../src/store/vault-connections-store.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { connectionBody, startOAuthProvider, type TestOAuthProvider } from './support/oauth-provider.js';
import { createTestDatabase, sharedDatabase, type TestDatabase } from './support/test-database.js';
import { offsetClock, startTestServer, type TestServer, useTestServer } from './support/test-server.js';

const CALLERS = 20;

async function tokensAtOnce(urls: string[], name: string, key: string) {
  const replies = await Promise.all(
    Array.from({ length: CALLERS }, (_, index) =>
      call(urls[index % urls.length]!, 'GET', `/v1/vault/connections/${name}/token`, { token: key }),
    ),
  );
  return {
    statuses: new Set(replies.map((r) => r.status)),
    tokens: new Set(replies.map((r) => r.body.access_token)),
  };
}

describe('twenty concurrent token requests at expiry cause exactly one upstream refresh', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  let key: string;
  const clock = offsetClock();
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: 2 });
    // A slow token endpoint: every caller arrives while the one refresh is still in flight.
    provider.setLatency(300);
  });
  afterAll(() => provider.close());
  useTestServer({ clock, env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1h' } }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    key = (await clientWithKey(server, await adminToken(server), ['vault:read'])).key;
  });

  it('client_credentials', async () => {
    const client = provider.clients[0]!;
    await server.gatehouse.vault.create(connectionBody(provider, client, { name: 'cc' }) as never);
    const before = await server.gatehouse.vault.token('cc', {});
    clock.advance(600_000); // the token's expiry

    const { statuses, tokens } = await tokensAtOnce([server.url], 'cc', key);
    expect([...statuses]).toEqual([200]);
    expect(tokens.size).toBe(1);
    expect(tokens.has(before.access_token)).toBe(false);
    expect(provider.grantsIssued(client.clientId)).toBe(2); // the first token, then one refresh
  });

  it('refresh_token, with a provider that rotates refresh tokens (a second refresh would be invalid_grant)', async () => {
    const client = provider.clients[1]!;
    const { refreshToken } = await provider.mintRefreshToken(client.clientId);
    await server.gatehouse.vault.create(
      connectionBody(provider, client, {
        name: 'rt',
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      }) as never,
    );
    clock.advance(600_000);

    const { statuses, tokens } = await tokensAtOnce([server.url], 'rt', key);
    expect([...statuses]).toEqual([200]);
    expect(tokens.size).toBe(1);
    expect(provider.grantsIssued(client.clientId)).toBe(2);
    expect(provider.grantErrors(client.clientId)).toEqual([]);
    const { refreshes } = await server.gatehouse.vault.get('rt');
    expect(refreshes.filter((r) => r.triggered_by === 'request')).toHaveLength(1);
  });
});

describe('the refresh lease, on the database itself', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: 1 });
  });
  afterAll(() => provider.close());
  useTestServer({ env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1h' } }, (started) => {
    server = started.server;
  });

  it('of callers that all read the same row, exactly one wins; a stale read never wins; a lapsed lease can be taken', async () => {
    const { db } = server.gatehouse.store;
    await server.gatehouse.vault.create(
      connectionBody(provider, provider.clients[0]!, { name: 'leased' }) as never,
    );
    const row = (await findVaultConnectionByName(db, 'leased'))!;
    const now = Date.now();
    const attempt = (holder: string, at = now, revision = row.revision) =>
      takeRefreshLease(db, { id: row.id, revision, holder, now: at, until: at + 25_000 });

    const won = await Promise.all(Array.from({ length: CALLERS }, (_, index) => attempt(`caller-${index}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await attempt('late')).toBe(false);
    expect(await attempt('after-lapse', now + 25_000)).toBe(true);
    expect(await attempt('stale-read', now + 60_000, row.revision - 1)).toBe(false);
  });
});

// The lease is a row in the database, not a flag in memory: three instances on one PostgreSQL share it.
describe.runIf(sharedDatabase)(
  'three Gatehouse instances on one PostgreSQL refresh a connection once (on SQLite, the embedded single-instance mode, there is no second instance to race)',
  () => {
    let provider: TestOAuthProvider;
    let database: TestDatabase;
    let first: TestServer;
    let second: TestServer;
    let third: TestServer;
    let key: string;
    const clock = offsetClock();
    const shared = { GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test' };
    beforeAll(async () => {
      provider = await startOAuthProvider({ clients: 2 });
      provider.setLatency(300);
      database = await createTestDatabase();
      // Background refreshers tick every second on every instance, racing each other and the requests.
      const env = { ...shared, GATEHOUSE_VAULT_REFRESH_INTERVAL: '1s' };
      first = await startTestServer(database, { clock, env });
      second = await startTestServer(database, { clock, env });
      third = await startTestServer(database, { clock, env });
      key = (await clientWithKey(first, await adminToken(first), ['vault:read'])).key;
    });
    afterAll(async () => {
      await Promise.all([first?.close(), second?.close(), third?.close()]);
      await database?.drop();
      await provider?.close();
    });

    it('twenty requests spread over the three instances at expiry: one upstream refresh', async () => {
      const client = provider.clients[0]!;
      await first.gatehouse.vault.create(connectionBody(provider, client, { name: 'shared' }) as never);
      clock.advance(600_000);

      const { statuses, tokens } = await tokensAtOnce([first.url, second.url, third.url], 'shared', key);
      expect([...statuses]).toEqual([200]);
      expect(tokens.size).toBe(1);
      // Give every background refresher a few ticks: the new token is not due, so nobody refreshes again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(provider.grantsIssued(client.clientId)).toBe(2);
    });

    it('every background refresher ticks on a due connection: one upstream refresh', async () => {
      const client = provider.clients[1]!;
      const { refreshToken } = await provider.mintRefreshToken(client.clientId);
      await second.gatehouse.vault.create(
        connectionBody(provider, client, {
          name: 'ticked',
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        }) as never,
      );
      clock.advance(400_000); // inside the 300 s margin
      const deadline = Date.now() + 5000;
      while (provider.grantsIssued(client.clientId) < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(provider.grantsIssued(client.clientId)).toBe(2);
      expect(provider.grantErrors(client.clientId)).toEqual([]);
      const { refreshes, state } = await first.gatehouse.vault.get('ticked');
      expect(state).toBe('active');
      expect(refreshes.map((r) => r.triggered_by)).toEqual(['background', 'admin']);
    });
  },
);
