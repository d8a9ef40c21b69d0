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
  // A counter whose value lives in the sockets: each scrape adds what they dropped since the last one.
  let seen = 0;
  metrics.counter('udp_dropped_replies_total', 'UDP replies that never left: the native reply queue was full, the socket closed with replies queued, or the kernel refused them.', [], function () {
    const now = server.udpDropped;
    if (now > seen) this.inc(now - seen);
    seen = Math.max(seen, now);
  });
}
