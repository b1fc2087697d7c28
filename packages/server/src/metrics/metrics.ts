import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The instance's Prometheus metrics. Domain code counts decisions and cache lookups here; the HTTP layer
 * times requests. One registry per Gatehouse, so tests and several instances in one process do not mix.
 */
export interface Metrics {
  registry: Registry;
  decision(kind: string, code: string): void;
  cacheLookup(cache: 'access_token' | 'session' | 'api_key', hit: boolean): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(readings: {
  eventsDropped: () => number;
  eventsQueued: () => number;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const decisions = new Counter({
    name: 'gatehouse_auth_decisions_total',
    help: 'Authentication decisions by kind (login, refresh, token.check, key.verify, agent.heartbeat, …) and reason code (ok for acceptances)',
    labelNames: ['kind', 'code'] as const,
    registers: [registry],
  });
  const cache = new Counter({
    name: 'gatehouse_cache_lookups_total',
    help: 'In-memory cache lookups by cache and result (hit or miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
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
  return {
    registry,
    decision: (kind, code) => decisions.inc({ kind, code }),
    cacheLookup: (name, hit) => cache.inc({ cache: name, result: hit ? 'hit' : 'miss' }),
    httpRequest: (method, route, status, seconds) =>
      requests.observe({ method, route, status: String(status) }, seconds),
  };
}
