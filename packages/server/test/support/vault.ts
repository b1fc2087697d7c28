import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { adminToken, clientWithKey } from './admin.js';
import { startOAuthProvider, type TestOAuthProvider } from './oauth-provider.js';
import { type TestServer, useTestServer } from './test-server.js';

export interface VaultSetup {
  provider: TestOAuthProvider;
  server: TestServer;
  /** A root API key: it does not expire while a test moves the clock, as an admin's access token would. */
  admin: string;
  /** An API key with `vault:read`, for the token endpoint. */
  key: string;
}

/**
 * For the tests of a describe block: a real OAuth provider with `clients` registered clients, and a
 * Gatehouse on `clock` whose background refresher stays out of the way (every refresh is caused by the
 * request that needs it), with an admin key and a `vault:read` key. `ready` hands them to the block.
 */
export function useVaultSetup(
  options: { clients: number; clock: Clock },
  ready: (setup: VaultSetup) => void,
): void {
  let provider: TestOAuthProvider;
  let server: TestServer;
  beforeAll(async () => {
    provider = await startOAuthProvider({ clients: options.clients });
  });
  afterAll(() => provider.close());
  useTestServer({ clock: options.clock, env: { GATEHOUSE_VAULT_REFRESH_INTERVAL: '1h' } }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    const user = await adminToken(server);
    const admin = (await clientWithKey(server, user, ['admin'])).key;
    const key = (await clientWithKey(server, user, ['vault:read'])).key;
    ready({ provider, server, admin, key });
  });
}
