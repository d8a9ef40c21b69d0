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
}
