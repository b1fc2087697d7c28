import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type LabelValues,
  Registry,
} from 'prom-client';
import { HotHistogram } from './hot-histogram.js';
import { LabelCells, labelsOf } from './label-cells.js';

/**
 * The instance's Prometheus metrics. Domain code counts decisions and cache lookups here; the HTTP layer
 * times requests. One registry per Gatehouse, so tests and several instances in one process do not mix.
 */
export interface Metrics {
  registry: Registry;
  decision(kind: string, code: string): void;
  cacheLookup(cache: 'access_token' | 'session' | 'api_key', hit: boolean): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A vault refresh attempt: `ok` or its reason code, and how long the provider took. */
  vaultRefresh(connection: string, outcome: string, seconds: number): void;
  /** The expiry of a token just obtained, and provider − computed expiry (a clock-skew signal). */
  vaultTokenExpiry(connection: string, expiresAtMs: number, differenceMs: number | null): void;
  /** A token handed out: as stored, after a refresh, or stale (the provider failing, still valid). */
  vaultTokenServed(connection: string, source: 'stored' | 'refreshed' | 'stale'): void;
  /** A deleted connection's gauges disappear. */
  vaultForget(connection: string): void;
}

/**
 * A counter for the hot paths (every key check, every token check). prom-client hashes the label values on
 * each increment, even through a child from `labels()`; here an increment adds to a cell found by its label
 * values, and the sums are handed to prom-client when it collects (at each scrape).
 */
function hotCounter<Label extends string>(
  configuration: CounterConfiguration<Label> & { labelNames: readonly Label[] },
): (...labelValues: string[]) => void {
  const cells = new LabelCells((values) => ({
    labels: labelsOf(configuration.labelNames, values) as LabelValues<Label>,
    pending: 0,
  }));
  new Counter<Label>({
    ...configuration,
    collect() {
      for (const cell of cells.all()) {
        if (cell.pending === 0) continue;
        this.inc(cell.labels, cell.pending);
        cell.pending = 0;
      }
    },
  });
  return (...labelValues) => {
    cells.cell(...labelValues).pending += 1;
  };
}

export function createMetrics(readings: {
  eventsDropped: () => number;
  eventsQueued: () => number;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const countDecision = hotCounter({
    name: 'gatehouse_auth_decisions_total',
    help: 'Authentication decisions by kind (login, refresh, token.check, key.verify, agent.heartbeat, …) and reason code (ok for acceptances)',
    labelNames: ['kind', 'code'] as const,
    registers: [registry],
  });
  const countCacheLookup = hotCounter({
    name: 'gatehouse_cache_lookups_total',
    help: 'In-memory cache lookups by cache and result (hit or miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  const requests = new HotHistogram(
    'gatehouse_http_request_duration_seconds',
    'HTTP request duration by method, route and status',
    ['method', 'route', 'status'] as const,
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registry,
  );
  new Gauge({
    name: 'gatehouse_events_dropped_total',
    help: 'Events dropped because the write queue was full',
    registers: [registry],
    collect() {
      this.set(readings.eventsDropped());
    },
  });
  new Gauge({
    name: 'gatehouse_events_queued',
    help: 'Events waiting to be written',
    registers: [registry],
    collect() {
      this.set(readings.eventsQueued());
    },
  });
  const vaultRefreshes = new Counter({
    name: 'gatehouse_vault_refreshes_total',
    help: 'Vault token refresh attempts by connection and outcome (ok, provider_unavailable, reauth_required)',
    labelNames: ['connection', 'outcome'] as const,
    registers: [registry],
  });
  const vaultRefreshSeconds = new Histogram({
    name: 'gatehouse_vault_refresh_duration_seconds',
    help: 'Time a provider took to answer a vault token request',
    labelNames: ['connection'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const vaultExpiry = new Gauge({
    name: 'gatehouse_vault_token_expiry_timestamp_seconds',
    help: 'UTC expiry of the newest token this instance obtained per connection (seconds left: this minus time())',
    labelNames: ['connection'] as const,
    registers: [registry],
  });
  const vaultDifference = new Gauge({
    name: 'gatehouse_vault_provider_expiry_difference_seconds',
    help: "Provider-reported minus computed expiry of the newest token: the provider's clock against ours",
    labelNames: ['connection'] as const,
    registers: [registry],
  });
  const vaultServed = new Counter({
    name: 'gatehouse_vault_tokens_served_total',
    help: 'Vault tokens handed out by connection and source (stored, refreshed, stale)',
    labelNames: ['connection', 'source'] as const,
    registers: [registry],
  });
  return {
    registry,
    decision: countDecision,
    cacheLookup: (name, hit) => countCacheLookup(name, hit ? 'hit' : 'miss'),
    httpRequest: (method, route, status, seconds) => requests.observe(seconds, method, route, status),
    vaultRefresh(connection, outcome, seconds) {
      vaultRefreshes.inc({ connection, outcome });
      vaultRefreshSeconds.observe({ connection }, seconds);
    },
    vaultTokenExpiry(connection, expiresAtMs, differenceMs) {
      vaultExpiry.set({ connection }, expiresAtMs / 1000);
      if (differenceMs !== null) vaultDifference.set({ connection }, differenceMs / 1000);
    },
    vaultTokenServed: (connection, source) => vaultServed.inc({ connection, source }),
    vaultForget(connection) {
      vaultExpiry.remove({ connection });
      vaultDifference.remove({ connection });
    },
  };
}
