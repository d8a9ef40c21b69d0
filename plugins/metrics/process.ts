/**
 * The process's own health as Prometheus expects it from any exporter
 * (CPU, memory, file descriptors, start time), read at scrape time, under
 * `skydns_process_*`. prom-client's collectDefaultMetrics is not used: it
 * starts an event-loop monitor and a GC observer per registry that are never
 * stopped, and SkyDNS makes one registry per app.
 */
import { readdirSync } from 'node:fs';
import { Counter } from 'prom-client';
import { NAMESPACE, type Metrics } from '../../src/metrics.js';

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined; // not Linux
  }
}

/** Registers the process collectors on `metrics`, once (a reloaded metrics plugin finds them there). */
export function processMetrics(metrics: Metrics): void {
  const cpuName = `${NAMESPACE}_process_cpu_seconds_total`;
  if (metrics.registry.getSingleMetric(cpuName)) return;
  let last = process.cpuUsage();
  new Counter({
    name: cpuName,
    help: 'User and system CPU time spent, seconds.',
    registers: [metrics.registry],
    collect() {
      const now = process.cpuUsage();
      this.inc((now.user - last.user + now.system - last.system) / 1e6);
      last = now;
    },
  });
  metrics.gauge('process_resident_memory_bytes', 'Resident memory size, bytes.', [], function () {
    this.set(process.memoryUsage.rss());
  });
  metrics.gauge('process_heap_used_bytes', 'V8 heap in use, bytes.', [], function () {
    this.set(process.memoryUsage().heapUsed);
  });
  metrics.gauge('process_open_fds', 'Open file descriptors (Linux only).', [], function () {
    const n = openFds();
    if (n !== undefined) this.set(n);
  });
  const started = Math.round(Date.now() / 1000 - process.uptime());
  metrics.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, seconds.', [], function () {
    this.set(started);
  });
}
