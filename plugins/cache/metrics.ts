/**
 * The cache's Prometheus metrics (documented in README.md). Counters are
 * shared by every cache instance of one app; the entries gauge sums the live
 * instances at scrape time.
 */
import type { Metrics } from '../../src/metrics.js';

export interface Sized {
  readonly positive: { readonly size: number };
  readonly denial: { readonly size: number };
}

export interface CacheMetrics {
  hit(kind: 'positive' | 'denial' | 'servfail'): void;
  miss(): void;
  prefetch(): void;
  stale(): void;
  invalidated(): void;
  /** Stops counting this instance's entries. */
  release(): void;
}

const live = new WeakMap<Metrics, Set<Sized>>();

export function cacheMetrics(m: Metrics, cache: Sized): CacheMetrics {
  let caches = live.get(m);
  if (!caches) {
    const set = (caches = new Set<Sized>());
    live.set(m, set);
    m.gauge('cache_entries', 'Entries held by the cache, by type (positive, denial).', ['type'], function () {
      let positive = 0;
      let denial = 0;
      for (const c of set) {
        positive += c.positive.size;
        denial += c.denial.size;
      }
      this.set({ type: 'positive' }, positive);
      this.set({ type: 'denial' }, denial);
    });
  }
  caches.add(cache);
  // Per-query counters: series found once, then incremented as numbers (prom-client hashes the labels on every inc()).
  const hits = m.seriesCounter('cache_hits_total', 'Queries answered from the cache, by entry type (positive, denial, servfail).', ['type']);
  const misses = m.seriesCounter('cache_misses_total', 'Queries the cache passed on to the rest of the chain.', []).series({});
  const prefetches = m.counter('cache_prefetch_total', 'Background refreshes of popular entries about to expire.');
  const stale = m.counter('cache_served_stale_total', 'Expired answers served because the rest of the chain failed or was slow (RFC 8767).');
  const invalidated = m.counter('cache_invalidated_total', 'Entries dropped because the data they came from changed (registry).');
  const all = caches;
  return {
    hit: ((bound) => (type: 'positive' | 'denial' | 'servfail') => bound[type].inc())({
      positive: hits.series({ type: 'positive' }),
      denial: hits.series({ type: 'denial' }),
      servfail: hits.series({ type: 'servfail' }),
    }),
    miss: () => misses.inc(),
    prefetch: () => prefetches.inc(),
    stale: () => stale.inc(),
    invalidated: () => invalidated.inc(),
    release: () => void all.delete(cache),
  };
}
