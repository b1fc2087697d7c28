import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { connectionBody, type TestOAuthProvider } from './support/oauth-provider.js';
import { freePort, offsetClock, type TestServer, useTestServer } from './support/test-server.js';
import { useVaultSetup } from './support/vault.js';

describe('when the provider refuses or fails', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  let admin: string;
  let key: string;
  const clock = offsetClock();
  useVaultSetup({ clients: 3, clock }, (setup) => {
    ({ provider, server, admin, key } = setup);
  });
  const token = (name: string) =>
    call(server.url, 'GET', `/v1/vault/connections/${name}/token`, { token: key });

  it('invalid_grant makes the connection reauth_required: 409, in status and events, no more retries; a new refresh token repairs it', async () => {
    const client = provider.clients[0]!;
    const { refreshToken, grantId } = await provider.mintRefreshToken(client.clientId);
    await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, {
        name: 'revoked',
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      }),
    });
    await provider.revokeGrant(grantId); // the user withdrew consent at the provider
    clock.advance(400_000); // inside the margin: the next request refreshes first

    const refused = await token('revoked');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'reauth_required', action: 'contact_admin' });
    expect(refused.body.detail).toContain('invalid_grant');
    expect(provider.grantErrors(client.clientId)).toEqual(['invalid_grant']);

    expect((await token('revoked')).status).toBe(409);
    await server.gatehouse.vault.refreshDue();
    expect(provider.grantErrors(client.clientId)).toHaveLength(1); // stopped retrying

    const status = await call(server.url, 'GET', '/v1/admin/vault/connections', { token: admin });
    const listed = status.body.connections.find((c: { name: string }) => c.name === 'revoked');
    expect(listed).toMatchObject({
      state: 'reauth_required',
      last_error: { code: 'reauth_required' },
      next_attempt_at: null,
    });
    expect(listed.refreshes[0]).toMatchObject({
      outcome: 'reauth_required',
      provider_error: 'invalid_grant',
    });
    const events = await call(server.url, 'GET', '/v1/admin/events?type=vault.refresh&code=reauth_required', {
      token: admin,
    });
    expect(events.body.events[0].detail).toMatchObject({
      connection: 'revoked',
      provider_error: 'invalid_grant',
    });

    const fresh = await provider.mintRefreshToken(client.clientId);
    const repaired = await call(server.url, 'PATCH', '/v1/admin/vault/connections/revoked', {
      token: admin,
      body: { refresh_token: fresh.refreshToken },
    });
    expect(repaired.status).toBe(200);
    expect(repaired.body).toMatchObject({ state: 'active', last_error: null, failure_count: 0 });
    expect((await token('revoked')).status).toBe(200);
  });

  it('a wrong client secret shows at creation, as reauth_required with the provider answer', async () => {
    const client = provider.clients[1]!;
    const created = await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'wrong-secret', client_secret: 'not-the-secret' }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'reauth_required', last_error: { code: 'reauth_required' } });
    expect(created.body.refreshes[0].provider_error).toBe('invalid_client');
    expect(created.text).not.toContain('not-the-secret');
    expect((await token('wrong-secret')).body.code).toBe('reauth_required');
  });

  it('provider down: the old token is served while it has more than the clock skew left, then 503 provider_unavailable', async () => {
    const client = provider.clients[2]!;
    await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'flaky' }),
    });
    const original = await token('flaky');
    provider.setOutage(true);

    clock.advance(400_000); // 200 s left: due, but the refresh fails
    const stale = await token('flaky');
    expect(stale.status).toBe(200);
    expect(stale.body.access_token).toBe(original.body.access_token);
    expect(stale.body.expires_in).toBeLessThanOrEqual(200);
    const failing = (await call(server.url, 'GET', '/v1/admin/vault/connections/flaky', { token: admin }))
      .body;
    expect(failing).toMatchObject({
      state: 'failing',
      failure_count: 1,
      last_error: { code: 'provider_unavailable' },
    });
    expect(failing.last_error.detail).toContain('503');
    expect(Date.parse(failing.next_attempt_at)).toBeGreaterThan(clock.now());

    // Inside the backoff, requests do not call the provider again.
    const errorsBefore = provider.grantErrors(client.clientId).length;
    expect((await token('flaky')).body.access_token).toBe(original.body.access_token);

    clock.advance(180_000); // 20 s left, fewer than GATEHOUSE_CLOCK_SKEW_SECONDS (30)
    const refused = await token('flaky');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'provider_unavailable', action: 'retry' });
    expect(refused.body.detail).toContain('flaky');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(errorsBefore).toBe(0); // a 503 before the grant is parsed is an outage, not a refusal

    provider.setOutage(false);
    clock.advance(600_000); // past any backoff
    const recovered = await token('flaky');
    expect(recovered.status).toBe(200);
    expect(recovered.body.access_token).not.toBe(original.body.access_token);
    const events = await server.gatehouse.events.query({
      type: 'vault.refresh',
      code: 'provider_unavailable',
      limit: 10,
    });
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0]!.detail).toMatchObject({ connection: 'flaky' });
  });

  it('an unreachable provider is a passing failure with a clear reason', async () => {
    const closedPort = await freePort();
    const created = await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: {
        ...connectionBody(provider, provider.clients[2]!, { name: 'nowhere' }),
        token_url: `http://127.0.0.1:${closedPort}/token`,
      },
    });
    expect(created.body).toMatchObject({ state: 'failing', last_error: { code: 'provider_unavailable' } });
    expect(created.body.last_error.detail).toContain('ECONNREFUSED');
    const refused = await token('nowhere');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('provider_unavailable');
  });
});

describe('bad connection requests get a clear error and change nothing', () => {
  let server: TestServer;
  let admin: string;
  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });
  const base = {
    name: 'ok',
    token_url: 'https://login.example.com/oauth2/token',
    grant_type: 'client_credentials',
    client_id: 'id',
    client_secret: 'secret',
  };
  const create = (body: unknown) =>
    call(server.url, 'POST', '/v1/admin/vault/connections', { token: admin, body });

  it.each([
    ['plain http to another host', { token_url: 'http://login.example.com/token' }, 'token_url'],
    ['a URL with credentials', { token_url: 'https://u:p@login.example.com/token' }, 'token_url'],
    ['not a URL', { token_url: 'login' }, 'token_url'],
    ['a refresh_token grant without a refresh token', { grant_type: 'refresh_token' }, 'refresh_token'],
    ['an extra parameter the vault sets itself', { extra_params: { client_secret: 'x' } }, 'extra_params'],
    ['a name that does not fit a URL', { name: 'a/b' }, 'name'],
    ['an unknown grant', { grant_type: 'password' }, 'grant_type'],
    ['an unknown field', { password: 'x' }, 'additional properties'],
    ['a negative margin', { refresh_margin_seconds: -1 }, 'refresh_margin_seconds'],
  ])('%s → 400 validation_failed', async (_label, change, field) => {
    const reply = await create({ ...base, ...change });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('validation_failed');
    expect(reply.body.detail).toContain(field);
  });

  it('a taken name is 409, an unknown one 404, and nothing was stored by the refusals', async () => {
    const list = await call(server.url, 'GET', '/v1/admin/vault/connections', { token: admin });
    expect(list.body.connections).toEqual([]);
    // Nothing listens on this host: the connection is stored, failing, and its name is taken.
    expect((await create({ ...base, name: 'dup', token_url: 'https://127.0.0.1:1/token' })).status).toBe(201);
    const again = await create({ ...base, name: 'dup' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('vault_connection_exists');
    for (const [method, path] of [
      ['GET', '/v1/admin/vault/connections/none'],
      ['PATCH', '/v1/admin/vault/connections/none'],
      ['DELETE', '/v1/admin/vault/connections/none'],
      ['POST', '/v1/admin/vault/connections/none/refresh'],
    ] as const) {
      const reply = await call(server.url, method, path, {
        token: admin,
        ...(method === 'PATCH' ? { body: {} } : {}),
      });
      expect(reply.status).toBe(404);
      expect(reply.body.code).toBe('vault_connection_not_found');
    }
    expect(
      (await call(server.url, 'DELETE', '/v1/admin/vault/connections/dup', { token: admin })).status,
    ).toBe(204);
    expect((await call(server.url, 'GET', '/v1/admin/vault/connections/dup', { token: admin })).status).toBe(
      404,
    );
  });

  it('the admin routes need an admin', async () => {
    const { key } = await clientWithKey(server, admin, ['vault:read']);
    const reply = await call(server.url, 'GET', '/v1/admin/vault/connections', { token: key });
    expect(reply.status).toBe(403);
    expect((await call(server.url, 'GET', '/v1/admin/vault/connections')).status).toBe(401);
  });
});

describe('vault settings are checked at start', () => {
  it.each([
    ['GATEHOUSE_VAULT_REFRESH_INTERVAL', 'soon', 'must be a duration'],
    ['GATEHOUSE_VAULT_REFRESH_INTERVAL', '2h', 'must be at most 3600 seconds'],
    ['GATEHOUSE_VAULT_PROVIDER_TIMEOUT', '0', 'must be greater than zero'],
    ['GATEHOUSE_VAULT_PROVIDER_TIMEOUT', '5m', 'must be at most 120 seconds'],
  ])('%s=%s is refused, naming the setting', (name, value, message) => {
    expect(() => loadConfig({ env: { [name]: value } })).toThrow(new RegExp(`${name} ${message}`));
  });

  it('defaults to a 30 s refresher and a 10 s provider timeout; durations take units', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ vaultRefreshInterval: 30, vaultProviderTimeout: 10 });
    expect(loadConfig({ env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '2m' } }).vaultRefreshInterval).toBe(120);
  });
});
