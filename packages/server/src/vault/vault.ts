import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Actor, Events } from '../events/events.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Database } from '../store/schema.js';
import type { ConnectionInput, ConnectionPatch } from './connection-input.js';
import type { ConnectionView } from './connection-view.js';
import { createConnections } from './connections.js';
import type { VaultCaller } from './refresh.js';
import { createRefresher } from './refresher.js';
import { createVaultSealer } from './sealing.js';
import { reportRejectedToken, type ServeDeps, type ServedToken, serveToken } from './serve-token.js';
import { createTokenClient } from './token-client.js';

/** The outbound token vault: third-party OAuth connections, their tokens, and the refresher that keeps them. */
export interface Vault {
  create(input: ConnectionInput, actor?: Actor): Promise<ConnectionView>;
  update(name: string, patch: ConnectionPatch, actor?: Actor): Promise<ConnectionView>;
  remove(name: string, actor?: Actor): Promise<void>;
  list(): Promise<ConnectionView[]>;
  get(name: string, historyLimit?: number): Promise<ConnectionView>;
  /** Refreshes now, whatever the schedule or backoff (an operator after fixing the provider). */
  refresh(name: string, actor?: Actor): Promise<ConnectionView>;
  /** A token with life left, refreshed first when due (API.md, GET /v1/vault/connections/{name}/token). */
  token(name: string, caller: VaultCaller): Promise<ServedToken>;
  /** The provider answered 401 to `token` early: refresh once, record the early expiry, serve the new one. */
  reportRejected(name: string, token: string, caller: VaultCaller): Promise<ServedToken>;
  /** One pass of the background refresher. */
  refreshDue(): Promise<void>;
  startRefreshing(): void;
  stop(): Promise<void>;
}

export interface VaultOptions {
  db: Kysely<Database>;
  clock: Clock;
  events: Events;
  metrics: Metrics;
  /** The master key's `vault` subkey. */
  key: Uint8Array;
  clockSkewSeconds: number;
  refreshIntervalSeconds: number;
  providerTimeoutSeconds: number;
  random?: () => number;
  onWarning: (message: string, detail: Record<string, unknown>) => void;
  onError: (error: unknown, message: string) => void;
}

/** A lease outlives the slowest provider request by this much, so it never lapses while one is in flight. */
const LEASE_SLACK_MS = 15_000;

export function createVault(options: VaultOptions): Vault {
  const providerTimeoutMs = options.providerTimeoutSeconds * 1000;
  const deps: ServeDeps = {
    db: options.db,
    clock: options.clock,
    sealer: createVaultSealer(options.key),
    requestToken: createTokenClient(options.clock, providerTimeoutMs),
    events: options.events,
    metrics: options.metrics,
    random: options.random ?? Math.random,
    leaseMs: providerTimeoutMs + LEASE_SLACK_MS,
    clockSkewMs: options.clockSkewSeconds * 1000,
    onWarning: options.onWarning,
  };
  const connections = createConnections(deps);
  const refresher = createRefresher(deps, options.refreshIntervalSeconds * 1000, (error) =>
    options.onError(error, 'vault refresher pass failed; the next tick tries again'),
  );
  return {
    ...connections,
    token: (name, caller) => serveToken(deps, name, caller),
    reportRejected: (name, token, caller) => reportRejectedToken(deps, name, token, caller),
    refreshDue: refresher.refreshDue,
    startRefreshing: refresher.start,
    stop: refresher.stop,
  };
}
