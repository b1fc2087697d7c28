import type { MetricValueWithName, Registry } from 'prom-client';
import { LabelCells, labelsOf } from './label-cells.js';

interface Cell {
  labels: Record<string, string>;
  /** Observations at or under each bound, bound by bound (not yet cumulative). */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the request path, registered on a prom-client registry, which formats it.
 * prom-client's own `observe` checks and hashes the label values on every call, even through a child from
 * `labels()` — about a tenth of what a cached key check costs. Here an observation finds its cell by its
 * label values and adds to plain numbers; the cumulative buckets are built when the registry is scraped.
 */
export class HotHistogram<Label extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #cells: LabelCells<Cell>;

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly Label[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    this.#cells = new LabelCells((values) => ({
      labels: labelsOf(labelNames, values),
      counts: bounds.map(() => 0),
      sum: 0,
      count: 0,
    }));
    registry.registerMetric(this as never);
  }

  /** `labelValues` in the order of the label names. */
  observe(value: number, ...labelValues: Array<string | number>): void {
    const cell = this.#cells.cell(...labelValues);
    const bucket = this.bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) cell.counts[bucket]! += 1;
    cell.sum += value;
    cell.count += 1;
  }

  /** What prom-client's registry reads to format the metric at a scrape. */
  async get() {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, counts, sum, count } of this.#cells.all()) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += counts[index]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: bound },
          value: cumulative,
        });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: `${this.name}_sum`, labels, value: sum },
        { metricName: `${this.name}_count`, labels, value: count },
      );
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      aggregator: this.aggregator,
      values,
    };
  }

  reset(): void {
    this.#cells.clear();
  }
}
