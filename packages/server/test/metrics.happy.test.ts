import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics/metrics.js';

const sample = (text: string, line: string) => {
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
};

describe('metrics summed in place are exposed as Prometheus reads them', () => {
  it('times requests into cumulative buckets (a value on a bound counts in it), +Inf, sum and count per label set', async () => {
    const metrics = createMetrics({ eventsDropped: () => 0, eventsQueued: () => 0 });
    for (const seconds of [0.0005, 0.001, 0.2, 7]) metrics.httpRequest('GET', '/x', 200, seconds);
    metrics.httpRequest('POST', '/y', 401, 0.003);
    const text = await metrics.registry.metrics();
    const series = (labels: string) => `gatehouse_http_request_duration_seconds_${labels}`;
    expect(sample(text, series('bucket{method="GET",route="/x",status="200",le="0.001"}'))).toBe(2);
    expect(sample(text, series('bucket{method="GET",route="/x",status="200",le="0.1"}'))).toBe(2);
    expect(sample(text, series('bucket{method="GET",route="/x",status="200",le="0.25"}'))).toBe(3);
    expect(sample(text, series('bucket{method="GET",route="/x",status="200",le="2.5"}'))).toBe(3);
    expect(sample(text, series('bucket{method="GET",route="/x",status="200",le="+Inf"}'))).toBe(4);
    expect(sample(text, series('sum{method="GET",route="/x",status="200"}'))).toBeCloseTo(7.2015, 6);
    expect(sample(text, series('count{method="GET",route="/x",status="200"}'))).toBe(4);
    expect(sample(text, series('count{method="POST",route="/y",status="401"}'))).toBe(1);
  });

  it('counts decisions and cache lookups, and hands each increment over once across scrapes', async () => {
    const metrics = createMetrics({ eventsDropped: () => 0, eventsQueued: () => 0 });
    metrics.decision('key.verify', 'ok');
    metrics.decision('key.verify', 'ok');
    metrics.decision('key.verify', 'key_revoked');
    metrics.cacheLookup('api_key', false);
    const first = await metrics.registry.metrics();
    expect(sample(first, 'gatehouse_auth_decisions_total{kind="key.verify",code="ok"}')).toBe(2);
    expect(sample(first, 'gatehouse_auth_decisions_total{kind="key.verify",code="key_revoked"}')).toBe(1);
    expect(sample(first, 'gatehouse_cache_lookups_total{cache="api_key",result="miss"}')).toBe(1);
    metrics.decision('key.verify', 'ok');
    const second = await metrics.registry.metrics();
    expect(sample(second, 'gatehouse_auth_decisions_total{kind="key.verify",code="ok"}')).toBe(3);
    expect(sample(second, 'gatehouse_cache_lookups_total{cache="api_key",result="miss"}')).toBe(1);
  });

  it('keeps label sets apart that differ in one value, or whose values would run together if joined', async () => {
    const metrics = createMetrics({ eventsDropped: () => 0, eventsQueued: () => 0 });
    metrics.decision('key verify', 'ok');
    metrics.decision('key', 'verify ok');
    metrics.httpRequest('GET', '/x', 200, 0.001);
    metrics.httpRequest('GET', '/x', 404, 0.001);
    metrics.httpRequest('GET', '/x', 404, 0.001);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'gatehouse_auth_decisions_total{kind="key verify",code="ok"}')).toBe(1);
    expect(sample(text, 'gatehouse_auth_decisions_total{kind="key",code="verify ok"}')).toBe(1);
    const count = (status: number) =>
      sample(
        text,
        `gatehouse_http_request_duration_seconds_count{method="GET",route="/x",status="${status}"}`,
      );
    expect([count(200), count(404)]).toEqual([1, 2]);
  });
});
