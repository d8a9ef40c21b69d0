/**
 * The watch API's metrics, per plugin serving it (api, catalog):
 * `skydns_watch_watchers{plugin}` (gauge: open streams plus held blocking
 * GETs) and `skydns_watch_cut_total{plugin}` (counter: streams cut because
 * their reader fell further behind than the history).
 */
import type { Metrics } from '../../metrics.js';
import type { WatchOptions } from './endpoint.js';

export function watchReport(metrics: Metrics, plugin: string): NonNullable<WatchOptions['report']> {
  const watchers = metrics.gauge('watch_watchers', 'open watch streams and held blocking GETs', ['plugin']);
  const cut = metrics.counter('watch_cut_total', 'watch streams cut because their reader fell further behind than the history', ['plugin']);
  watchers.set({ plugin }, 0);
  return { watchers: (n) => watchers.set({ plugin }, n), cut: () => cut.inc({ plugin }) };
}
