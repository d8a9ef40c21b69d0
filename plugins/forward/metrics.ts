/**
 * The forward plugin's Prometheus metrics (documented in README.md), shared
 * by every forward instance of one app; `to` is the upstream ("host:port").
 * The health gauge reads the live instances at scrape time.
 */
import { rcodeName } from '../../src/dns/index.js';
import type { CounterSeries, HistogramSeries, Metrics } from '../../src/metrics.js';

export interface UpstreamState {
  readonly name: string;
  readonly healthy: boolean;
  /** UDP sockets open to it (live and draining). */
  readonly udpSockets: number;
}

export interface ForwardMetrics {
  sent(to: string): void;
  answered(to: string, rcode: number, seconds: number): void;
  failed(to: string, kind: string): void;
  probeFailed(to: string): void;
  rejected(): void;
  allDown(): void;
  discarded(): void;
  merged(): void;
  release(): void;
}

const live = new WeakMap<Metrics, Set<() => readonly UpstreamState[]>>();

export function forwardMetrics(m: Metrics, upstreams: () => readonly UpstreamState[]): ForwardMetrics {
  let sources = live.get(m);
  if (!sources) {
    const set = (sources = new Set());
    live.set(m, set);
    m.gauge('forward_upstream_healthy', 'Whether an upstream gets queries: 1, or 0 while it is down or a loop back to this server.', ['to'], function () {
      this.reset();
      for (const list of set) for (const u of list()) this.set({ to: u.name }, u.healthy ? 1 : 0);
    });
    m.gauge('forward_udp_sockets', 'UDP sockets open to an upstream (the pool, and retired ones still answering their queries).', ['to'], function () {
      this.reset();
      for (const list of set) for (const u of list()) this.inc({ to: u.name }, u.udpSockets);
    });
  }
  sources.add(upstreams);
  // Per-query metrics: their series are found once per upstream (and rcode), then incremented as numbers.
  const requests = m.seriesCounter('forward_requests_total', 'Queries sent to an upstream (each attempt counts).', ['to']);
  const responses = m.seriesCounter('forward_responses_total', 'Replies accepted from an upstream, by rcode.', ['to', 'rcode']);
  const duration = m.seriesHistogram('forward_request_duration_seconds', 'Time from sending a query upstream to accepting its reply.', ['to'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  const failures = m.counter('forward_failures_total', 'Attempts that failed, by kind: timeout, network, malformed.', ['to', 'kind']);
  const probes = m.counter('forward_healthcheck_failures_total', 'Health probes of a down upstream that failed.', ['to']);
  const rejects = m.counter('forward_max_concurrent_rejects_total', 'Queries answered REFUSED because maxConcurrent queries were in flight.');
  const allDown = m.counter('forward_all_down_total', 'Queries answered SERVFAIL at once because every upstream was down.');
  const discarded = m.counter('forward_discarded_replies_total', 'Replies discarded because their source, ID or question did not match a query (RFC 5452).');
  const merged = m.seriesCounter('forward_merged_total', 'Queries that took the reply of an identical query already in flight upstream instead of sending their own (RFC 5452 §5).', []).series({});
  const all = sources;
  const byUpstream = new Map<string, { sent: CounterSeries; duration: HistogramSeries | undefined; rcodes: (CounterSeries | undefined)[] }>();
  const of = (to: string) => {
    let u = byUpstream.get(to);
    if (!u) byUpstream.set(to, (u = { sent: requests.series({ to }), duration: undefined, rcodes: [] }));
    return u;
  };
  return {
    sent: (to) => of(to).sent.inc(),
    answered: (to, rcode, seconds) => {
      const u = of(to);
      (u.rcodes[rcode] ??= responses.series({ to, rcode: rcodeName(rcode) })).inc();
      (u.duration ??= duration.series({ to })).observe(seconds);
    },
    failed: (to, kind) => failures.inc({ to, kind }),
    probeFailed: (to) => probes.inc({ to }),
    rejected: () => rejects.inc(),
    allDown: () => allDown.inc(),
    discarded: () => discarded.inc(),
    merged: () => merged.inc(),
    release: () => void all.delete(upstreams),
  };
}
