/**
 * The metrics every part of one SkyDNS instance shares: one prom-client
 * registry per app (not the process-global one, so tests can run several
 * servers in a process). Plugins register their own collectors through
 * `ctx.metrics`, with names under the `skydns_` namespace; the `metrics`
 * plugin exposes the registry over HTTP.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const NAMESPACE = 'skydns';

export class Metrics {
  readonly registry = new Registry();

  /**
   * What a scrape serves (the metrics plugin calls it): this registry in the
   * Prometheus text format. A worker of a `workers` group replaces it with the
   * whole group's metrics, aggregated by the primary (src/workers/metrics.ts).
   */
  scrape: () => Promise<string> = () => this.registry.metrics();

  /** A counter, created once per name (a reload or a second plugin instance reuses it). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Counter<L>) => void): Counter<L> {
    const full = `${NAMESPACE}_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Counter<L>;
    return new Counter({ name: full, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Gauge<L>) => void): Gauge<L> {
    const full = `${NAMESPACE}_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Gauge<L>;
    return new Gauge({ name: full, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    const full = `${NAMESPACE}_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as Histogram<L>;
    return new Histogram({ name: full, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
  }

  /**
   * A counter for the per-query hot path: `series(labels)` is looked up once
   * (e.g. per upstream) and its `inc()` is a number increment; the registry
   * reads the series at scrape time. prom-client's own inc() hashes the label
   * set on every call.
   */
  seriesCounter<L extends string>(name: string, help: string, labelNames: readonly L[]): SeriesCounter<L> {
    const full = `${NAMESPACE}_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as unknown as SeriesCounter<L>;
    const c = new SeriesCounter<L>(full, help, labelNames);
    this.registry.registerMetric(c as never);
    return c;
  }

  /** A histogram for the hot path, as seriesCounter: `series(labels).observe(v)` is a bucket increment. */
  seriesHistogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): SeriesHistogram<L> {
    const full = `${NAMESPACE}_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing) return existing as unknown as SeriesHistogram<L>;
    const h = new SeriesHistogram<L>(full, help, labelNames, buckets);
    this.registry.registerMetric(h as never);
    return h;
  }
}

type Labels<L extends string> = Record<L, string>;

/** What prom-client's registry reads from a metric (its get()): the same shape its own metrics give. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
  aggregator: 'sum';
}

function seriesKey(labelNames: readonly string[], labels: Record<string, string>): string {
  for (const k of Object.keys(labels)) if (!labelNames.includes(k)) throw new Error(`label "${k}" is not one of ${labelNames.join(', ')}`);
  return labelNames.map((n) => `${n}\u0000${labels[n] ?? ''}`).join('\u0001');
}

/** The label values in the order of the metric's label names (the order they are printed in). */
function inOrder(labelNames: readonly string[], labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of labelNames) if (labels[n] !== undefined) out[n] = labels[n];
  return out;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/**
 * What the hot-path metrics share: series kept by label values, created once
 * each (see Metrics.seriesCounter); a prom-client metric to the registry.
 */
abstract class SeriesMetric<L extends string, S extends { labels: Record<string, string> }> {
  readonly aggregator = 'sum';
  protected readonly all = new Map<string, S>();

  constructor(readonly name: string, readonly help: string, private readonly labelNames: readonly L[]) {}

  protected abstract make(labels: Record<string, string>): S;

  /** The series for `labels` (created empty the first time). */
  series(labels: Labels<L>): S {
    const key = seriesKey(this.labelNames, labels);
    let s = this.all.get(key);
    if (!s) this.all.set(key, (s = this.make(inOrder(this.labelNames, labels))));
    return s;
  }

  reset(): void {
    this.all.clear();
  }
}

/** A Prometheus counter whose series are plain objects (see Metrics.seriesCounter). */
export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries> {
  readonly type = 'counter';

  protected make(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels);
  }

  async get(): Promise<MetricSnapshot> {
    const values = [...this.all.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** A Prometheus histogram whose series are plain bucket arrays (see Metrics.seriesHistogram). */
export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  protected make(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  /** In prom-client's shape: cumulative `_bucket` series with `le`, then `_sum` and `_count`. */
  async get(): Promise<MetricSnapshot> {
    const values: MetricSnapshot['values'] = [];
    for (const s of this.all.values()) {
      let acc = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf', ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
