import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { connectionBody, startOAuthProvider, type TestOAuthProvider } from './support/oauth-provider.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';
import { useVaultSetup } from './support/vault.js';

describe('the vault obtains, stores, serves and refreshes real tokens from an OAuth server', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  let admin: string;
  let key: string;
  const clock = offsetClock();
  useVaultSetup({ clients: 4, clock }, (setup) => {
    ({ provider, server, admin, key } = setup);
  });

  it('client_credentials: fetches the first token on creation and serves it as stored', async () => {
    const client = provider.clients[0]!;
    const created = await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'graph' }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'graph', state: 'active', grant_type: 'client_credentials' });
    expect(created.body.seconds_left).toBeGreaterThan(590);
    expect(created.body.refreshes[0]).toMatchObject({
      outcome: 'ok',
      triggered_by: 'admin',
      expires_in: 600,
    });
    expect(provider.grantsIssued(client.clientId)).toBe(1);
    expect(created.text).not.toContain(client.clientSecret);

    const first = await call(server.url, 'GET', '/v1/vault/connections/graph/token', { token: key });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' });
    expect(first.body.expires_at).toBe(created.body.expires_at);
    expect(await provider.introspect(first.body.access_token, client)).toBe(true);

    const second = await call(server.url, 'GET', '/v1/vault/connections/graph/token', { token: key });
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(provider.grantsIssued(client.clientId)).toBe(1);
  });

  it('refresh_token: refreshes at the real token endpoint inside the margin and keeps the rotated refresh token', async () => {
    const client = provider.clients[1]!;
    const { refreshToken } = await provider.mintRefreshToken(client.clientId);
    const created = await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, {
        name: 'salesforce',
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        scope: 'openid offline_access api:read',
      }),
    });
    expect(created.body).toMatchObject({ state: 'active', has_refresh_token: true });
    const first = await call(server.url, 'GET', '/v1/vault/connections/salesforce/token', { token: key });
    expect(first.status).toBe(200);

    clock.advance((600 - 120) * 1000); // 120 s left: inside the default 300 s margin
    const second = await call(server.url, 'GET', '/v1/vault/connections/salesforce/token', { token: key });
    expect(second.status).toBe(200);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect(second.body.expires_in).toBeGreaterThan(590);
    expect(await provider.introspect(second.body.access_token, client)).toBe(true);
    // The provider rotates refresh tokens: each refresh used the newest one, or it would have been refused.
    clock.advance((600 - 120) * 1000);
    const third = await call(server.url, 'GET', '/v1/vault/connections/salesforce/token', { token: key });
    expect(third.status).toBe(200);
    expect(provider.grantsIssued(client.clientId)).toBe(3);
    expect(provider.grantErrors(client.clientId)).toEqual([]);

    const status = await call(server.url, 'GET', '/v1/admin/vault/connections/salesforce', { token: admin });
    expect(status.body.refreshes.map((r: { triggered_by: string }) => r.triggered_by)).toEqual([
      'request',
      'request',
      'admin',
    ]);
    expect(status.text).not.toContain(refreshToken);
    expect(status.text).not.toContain(third.body.access_token);
  });
  it('the token route takes an API key with vault:read, and names an unknown connection', async () => {
    const agentKey = (await clientWithKey(server, admin, ['agent'])).key;
    const noKey = await call(server.url, 'GET', '/v1/vault/connections/graph/token');
    expect(noKey.status).toBe(401);
    expect(noKey.body.code).toBe('token_missing');
    const wrongScope = await call(server.url, 'GET', '/v1/vault/connections/graph/token', {
      token: agentKey,
    });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.body.code).toBe('scope_insufficient');
    const unknown = await call(server.url, 'GET', '/v1/vault/connections/nope/token', { token: key });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('vault_connection_not_found');
    const asAdmin = await call(server.url, 'GET', '/v1/vault/connections/graph/token', { token: admin });
    expect(asAdmin.body.code).toBe('scope_insufficient');
  });

  it('a token the provider rejects before its expiry is refreshed once, and the event records how early', async () => {
    const client = provider.clients[2]!;
    await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'revoked-early' }),
    });
    const served = await call(server.url, 'GET', '/v1/vault/connections/revoked-early/token', { token: key });
    // Revoked at the provider: the resource server now answers 401 to the app, which reports it.
    await provider.revoke(served.body.access_token, client);
    expect(await provider.introspect(served.body.access_token, client)).toBe(false);

    const reports = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(server.url, 'POST', '/v1/vault/connections/revoked-early/token/rejected', {
          token: key,
          body: { access_token: served.body.access_token },
        }),
      ),
    );
    const tokens = new Set(reports.map((reply) => reply.body.access_token));
    expect(reports.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
    expect(tokens.size).toBe(1);
    const [fresh] = tokens;
    expect(fresh).not.toBe(served.body.access_token);
    expect(await provider.introspect(fresh, client)).toBe(true);
    expect(provider.grantsIssued(client.clientId)).toBe(2);

    const events = await server.gatehouse.events.query({ type: 'vault.early_expiry', limit: 10 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      code: 'vault_token_rejected',
      detail: { connection: 'revoked-early' },
    });
    expect(events[0]!.detail!.seconds_early).toBeGreaterThan(500);
    const status = await call(server.url, 'GET', '/v1/admin/vault/connections/revoked-early', {
      token: admin,
    });
    expect(status.body.refreshes[0]).toMatchObject({ triggered_by: 'rejected', outcome: 'ok' });

    // Reporting the old token again changes nothing: the current one is served, no new refresh.
    const late = await call(server.url, 'POST', '/v1/vault/connections/revoked-early/token/rejected', {
      token: key,
      body: { access_token: served.body.access_token },
    });
    expect(late.body.access_token).toBe(fresh);
    expect(provider.grantsIssued(client.clientId)).toBe(2);
  });

  it('keeps secrets and tokens sealed at rest and out of events', async () => {
    const client = provider.clients[0]!;
    const served = await call(server.url, 'GET', '/v1/vault/connections/graph/token', { token: key });
    const row = await server.gatehouse.store.db
      .selectFrom('vault_connections')
      .selectAll()
      .where('name', '=', 'graph')
      .executeTakeFirstOrThrow();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(client.clientSecret);
    expect(stored).not.toContain(served.body.access_token);
    expect(row.client_secret_sealed).toMatch(/^v1\./);
    const events = JSON.stringify(await server.gatehouse.events.query({ limit: 500 }));
    expect(events).toContain('vault.refresh');
    expect(events).not.toContain(client.clientSecret);
    expect(events).not.toContain(served.body.access_token);
  });

  it('PATCH renames or re-margins a connection without a new token, and replaces the token when credentials change', async () => {
    const client = provider.clients[3]!;
    await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'old-name' }),
    });
    const before = await call(server.url, 'GET', '/v1/vault/connections/old-name/token', { token: key });
    const renamed = await call(server.url, 'PATCH', '/v1/admin/vault/connections/old-name', {
      token: admin,
      body: { name: 'new-name', refresh_margin_seconds: 60 },
    });
    expect(renamed.body).toMatchObject({ name: 'new-name', refresh_margin_seconds: 60, state: 'active' });
    const same = await call(server.url, 'GET', '/v1/vault/connections/new-name/token', { token: key });
    expect(same.body.access_token).toBe(before.body.access_token);
    expect(provider.grantsIssued(client.clientId)).toBe(1);

    const rescoped = await call(server.url, 'PATCH', '/v1/admin/vault/connections/new-name', {
      token: admin,
      body: { scope: 'api:read api:write' },
    });
    expect(rescoped.body).toMatchObject({ state: 'active', scope: 'api:read api:write' });
    const after = await call(server.url, 'GET', '/v1/vault/connections/new-name/token', { token: key });
    expect(after.body.scope).toBe('api:read api:write');
    expect(provider.grantsIssued(client.clientId)).toBe(2);
    const audit = await server.gatehouse.events.query({ type: 'vault.connection.update', limit: 5 });
    expect(audit[0]!.detail).toMatchObject({ connection: 'new-name', changed: ['scope'] });
  });

  it('counts refreshes and served tokens in the metrics', async () => {
    const metrics = await server.gatehouse.metrics.registry.metrics();
    // Every attempt in the connection's history is counted (the clock moved past graph's first token).
    const { refreshes } = await server.gatehouse.vault.get('graph');
    expect(refreshes.length).toBeGreaterThan(1);
    expect(metrics).toContain(
      `gatehouse_vault_refreshes_total{connection="graph",outcome="ok"} ${refreshes.length}`,
    );
    expect(metrics).toMatch(
      /gatehouse_vault_tokens_served_total\{connection="salesforce",source="refreshed"\} 2/,
    );
    expect(metrics).toMatch(/gatehouse_auth_decisions_total\{kind="vault.refresh",code="ok"\}/);
    expect(metrics).toMatch(/gatehouse_vault_token_expiry_timestamp_seconds\{connection="graph"\} \d+/);
  });
});

describe('the background refresher renews tokens ahead of expiry', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  const clock = offsetClock();
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: 1 });
  });
  afterAll(() => provider.close());
  useTestServer({ clock, env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1s' } }, (started) => {
    server = started.server;
  });

  it('refreshes a connection one tick before its margin, once', async () => {
    const client = provider.clients[0]!;
    const created = await server.gatehouse.vault.create(
      connectionBody(provider, client, { name: 'crm' }) as never,
    );
    expect(created.state).toBe('active');
    clock.advance((600 - 300 - 1) * 1000); // one second before the 300 s margin: due within the next tick
    const deadline = Date.now() + 5000;
    let status = await server.gatehouse.vault.get('crm');
    while (status.refreshes.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await server.gatehouse.vault.get('crm');
    }
    expect(status.refreshes[0]).toMatchObject({ triggered_by: 'background', outcome: 'ok' });
    expect(status.seconds_left).toBeGreaterThan(590);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(provider.grantsIssued(client.clientId)).toBe(2);
  });
});
