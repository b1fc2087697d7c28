import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, toIso } from '../src/clock.js';
import { parseProviderInstant, tokenExpiry } from '../src/vault/expiry.js';
import { call } from './support/http.js';
import {
  connectionBody,
  startOAuthProvider,
  type TestOAuthProvider,
  type TokenBodyRewrite,
} from './support/oauth-provider.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';
import { useVaultSetup } from './support/vault.js';

describe('the refresh margin, on an injected clock', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  let admin: string;
  let key: string;
  const clock = offsetClock();
  useVaultSetup({ clients: 1, clock }, (setup) => {
    ({ provider, server, admin, key } = setup);
  });

  it('serves a token 31 s from expiry as stored, and refreshes one 29 s from expiry before serving it (30 s margin)', async () => {
    const client = provider.clients[0]!;
    const created = await call(server.url, 'POST', '/v1/admin/vault/connections', {
      token: admin,
      body: connectionBody(provider, client, { name: 'tight', refresh_margin_seconds: 30 }),
    });
    const expiresAt = Date.parse(created.body.expires_at);
    const original = await call(server.url, 'GET', '/v1/vault/connections/tight/token', { token: key });

    clock.advance(expiresAt - clock.now() - 31_000);
    const before = await call(server.url, 'GET', '/v1/vault/connections/tight/token', { token: key });
    expect(before.body.access_token).toBe(original.body.access_token);
    expect(before.body.expires_in).toBeGreaterThanOrEqual(30);
    expect(provider.grantsIssued(client.clientId)).toBe(1);

    clock.advance(2000);
    const after = await call(server.url, 'GET', '/v1/vault/connections/tight/token', { token: key });
    expect(after.status).toBe(200);
    expect(after.body.access_token).not.toBe(original.body.access_token);
    expect(after.body.expires_in).toBeGreaterThan(590);
    expect(provider.grantsIssued(client.clientId)).toBe(2);
  });
});

// The instant every shape below names: a whole second, an hour after the frozen "now".
const NOW = Math.floor(Date.now() / 1000) * 1000;
const EXPIRY = NOW + 3_600_000;
const seconds = EXPIRY / 1000;
/** EXPIRY as a wall-clock reading at a UTC offset, written the way a provider in that zone writes it. */
const localIso = (offsetMinutes: number, zone: string) =>
  new Date(EXPIRY + offsetMinutes * 60_000).toISOString().replace('.000Z', zone);
function appServiceStyle(): string {
  const d = new Date(EXPIRY);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours12 = d.getUTCHours() % 12 || 12;
  const meridiem = d.getUTCHours() < 12 ? 'AM' : 'PM';
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(hours12)}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${meridiem} +00:00`;
}

const absolute =
  (field: 'expires_on' | 'expires_at', value: unknown): TokenBodyRewrite =>
  (body) => {
    delete body.expires_in;
    body[field] = value;
  };

const SHAPES: [label: string, source: string, rewrite: TokenBodyRewrite][] = [
  ['expires_in as a number', 'expires_in', (body) => Object.assign(body, { expires_in: 3600 })],
  ['expires_in as a string', 'expires_in', (body) => Object.assign(body, { expires_in: '3600' })],
  ['expires_on in epoch seconds', 'expires_on', absolute('expires_on', seconds)],
  ['expires_on in epoch seconds, as a string', 'expires_on', absolute('expires_on', String(seconds))],
  ['expires_at in epoch milliseconds', 'expires_at', absolute('expires_at', EXPIRY)],
  ['expires_at in ISO 8601 UTC', 'expires_at', absolute('expires_at', new Date(EXPIRY).toISOString())],
  ['expires_on in New York local time', 'expires_on', absolute('expires_on', localIso(-300, '-05:00'))],
  ['expires_on in India local time', 'expires_on', absolute('expires_on', localIso(330, '+05:30'))],
  ['expires_at without an offset (UTC)', 'expires_at', absolute('expires_at', localIso(0, ''))],
  ['expires_on as App Service writes it', 'expires_on', absolute('expires_on', appServiceStyle())],
];

describe('every way providers state expiry gives the same UTC instant', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  // Frozen: `expires_in` counts from the moment the response arrived, which is then exactly NOW.
  const clock = fixedClock(NOW);
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: SHAPES.length + 1 });
  });
  afterAll(() => provider.close());
  useTestServer({ clock, env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1h' } }, (started) => {
    server = started.server;
  });

  it.each(SHAPES.map((shape, index) => [...shape, index] as const))(
    '%s',
    async (_label, source, rewrite, index) => {
      const client = provider.clients[index]!;
      provider.rewriteTokenResponses(client.clientId, rewrite);
      const created = await server.gatehouse.vault.create(
        connectionBody(provider, client, { name: `shape-${index}` }) as never,
      );
      expect(created.state).toBe('active');
      expect(created.expires_at).toBe(toIso(EXPIRY));
      expect(created.refreshes[0]).toMatchObject({ expiry_source: source, expires_at: toIso(EXPIRY) });
      const served = await server.gatehouse.vault.token(`shape-${index}`, {});
      expect(served).toMatchObject({ expires_at: toIso(EXPIRY), expires_in: 3600 });
    },
  );

  it('records both expiries and their difference when the provider sends both', async () => {
    const client = provider.clients[SHAPES.length]!;
    // The provider's clock is 2 s behind ours: its absolute expiry is 2 s earlier than the computed one.
    provider.rewriteTokenResponses(client.clientId, (body) =>
      Object.assign(body, { expires_in: 3600, expires_on: seconds - 2 }),
    );
    const created = await server.gatehouse.vault.create(
      connectionBody(provider, client, { name: 'both' }) as never,
    );
    expect(created.expires_at).toBe(toIso(EXPIRY));
    expect(created.refreshes[0]).toMatchObject({
      expiry_source: 'expires_in',
      computed_expires_at: toIso(EXPIRY),
      provider_expires_at: toIso(EXPIRY - 2000),
      difference_seconds: -2,
    });
    const [event] = await server.gatehouse.events.query({ type: 'vault.refresh', limit: 1 });
    expect(event!.detail).toMatchObject({ connection: 'both', difference_seconds: -2 });
  });
});

describe('reading provider instants', () => {
  it('reads the zone a string names, and UTC when it names none, whatever the server time zone', () => {
    expect(parseProviderInstant('2031-03-09T01:30:00-05:00')).toEqual({
      ms: Date.UTC(2031, 2, 9, 6, 30),
      assumedUtc: false,
    });
    expect(parseProviderInstant('2031-03-09 06:30:00.250')).toEqual({
      ms: Date.UTC(2031, 2, 9, 6, 30, 0, 250),
      assumedUtc: true,
    });
    expect(parseProviderInstant('03/09/2031 12:05:00 AM +00:00')?.ms).toBe(Date.UTC(2031, 2, 9, 0, 5));
  });

  it('refuses what is not an instant instead of guessing', () => {
    for (const value of [
      '2031-13-01T00:00:00Z',
      '2031-02-30T00:00:00Z',
      'tomorrow',
      '',
      -5,
      null,
      {},
      '12:00',
    ]) {
      expect(parseProviderInstant(value)).toBeUndefined();
    }
    const expiry = tokenExpiry({ expires_on: 'soon' }, NOW);
    expect(expiry.source).toBe('assumed');
    expect(expiry.notes.join(' ')).toContain('expires_on "soon" is not a date');
  });
});
