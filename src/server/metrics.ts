/**
 * The DNS server's own metrics: which UDP path serves
 * (`skydns_udp_io{path="native"} 1`) and the UDP replies that never left
 * (`skydns_udp_dropped_replies_total`: native queue full, socket closed with
 * replies queued, refused by the kernel; always 0 on dgram, which reports
 * send errors as socket errors in the log instead).
 */
import type { Metrics } from '../metrics.js';
import type { DnsServer } from './server.js';

export function serverMetrics(metrics: Metrics, server: DnsServer): void {
  metrics.gauge('udp_io', 'The UDP I/O path serving DNS: 1 for the path in use (native batched socket or node:dgram).', ['path'], function () {
    this.reset();
    const p = server.udpPath;
    if (p) this.set({ path: p }, 1);
  });
  // A gauge-typed collector cannot be a counter; this is a counter whose value is read from the sockets at scrape.
  const dropped = metrics.counter('udp_dropped_replies_total', 'UDP replies that never left: the native reply queue was full, the socket closed with replies queued, or the kernel refused them.');
  let seen = 0;
  const collect = (): void => {
    const now = server.udpDropped;
    if (now > seen) dropped.inc(now - seen);
    seen = Math.max(seen, now);
  };
  // prom-client calls `collect` before each scrape of this registry.
  (dropped as unknown as { collect?: () => void }).collect = collect;
}
