// The whole file runs as a server in New York would: Node applies a TZ set at run time to every Date after it.
process.env.TZ = 'America/New_York';

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toIso } from '../src/clock.js';
import { gatehouseCli } from './support/cli.js';
import { connectionBody, startOAuthProvider, type TestOAuthProvider } from './support/oauth-provider.js';
import { type TestServer, useTestServer } from './support/test-server.js';

// One instant, stated by the provider as a wall-clock reading without a zone (meaning UTC), and in New York
// local time with its offset. A parser that reads the first in the server's zone is off by 4 or 5 hours.
const EXPIRY = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
const utcWallClock = new Date(EXPIRY).toISOString().replace('.000Z', '');
const newYorkOffsetMinutes = -new Date(EXPIRY).getTimezoneOffset();
const newYorkLocal = `${new Date(EXPIRY + newYorkOffsetMinutes * 60_000).toISOString().replace('.000Z', '')}-0${-newYorkOffsetMinutes / 60}:00`;

describe('a server in a non-UTC time zone computes the same UTC expiry', () => {
  let provider: TestOAuthProvider;
  let server: TestServer;
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: 2 });
    provider.rewriteTokenResponses(provider.clients[0]!.clientId, (body) => {
      delete body.expires_in;
      body.expires_on = utcWallClock;
    });
    provider.rewriteTokenResponses(provider.clients[1]!.clientId, (body) => {
      delete body.expires_in;
      body.expires_on = newYorkLocal;
    });
  });
  afterAll(() => provider.close());
  useTestServer({ env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1h' } }, (started) => {
    server = started.server;
  });

  it('runs in New York time', () => {
    expect(new Date(EXPIRY).getTimezoneOffset()).toBeGreaterThanOrEqual(240);
    expect(newYorkLocal).toMatch(/-0[45]:00$/);
  });

  it('in this process', async () => {
    for (const [index, client] of provider.clients.entries()) {
      const created = await server.gatehouse.vault.create(
        connectionBody(provider, client, { name: `tz-${index}` }) as never,
      );
      expect(created.expires_at).toBe(toIso(EXPIRY));
    }
    expect((await server.gatehouse.vault.get('tz-0')).refreshes[0]!.detail).toContain('read as UTC');
  });

  it('in a child process in India time (the CLI refreshing, then reporting, on the same database)', async () => {
    const env = { ...server.env, TZ: 'Asia/Kolkata' };
    const childOffset = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(new Date().getTimezoneOffset()))'],
      {
        env: { ...process.env, ...env },
      },
    );
    expect(childOffset.toString()).toBe('-330');
    for (const name of ['tz-0', 'tz-1']) {
      const refreshed = await gatehouseCli(['vault', 'refresh', name, '--json'], env);
      expect(refreshed.stderr).toBe('');
      const connection = JSON.parse(refreshed.stdout);
      expect(connection.refreshes[0]).toMatchObject({ triggered_by: 'admin', outcome: 'ok' });
      expect(connection.expires_at).toBe(toIso(EXPIRY));
    }
    const status = await gatehouseCli(['vault', 'status', '--json'], env);
    const { connections } = JSON.parse(status.stdout);
    expect(connections.map((c: { expires_at: string }) => c.expires_at)).toEqual([
      toIso(EXPIRY),
      toIso(EXPIRY),
    ]);
    const text = await gatehouseCli(['vault', 'status', 'tz-1'], env);
    expect(text.stdout).toContain(`expires ${toIso(EXPIRY)}`);
    expect(text.stdout).toContain('refreshes, newest first:');
  });
});
