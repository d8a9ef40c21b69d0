/** The dnssec plugin's Prometheus metrics (README "Metrics"); counters shared by every instance of one app. */
import type { Metrics } from '../../src/metrics.js';

export interface SignerMetrics {
  signed(ms: number): void;
  hit(): void;
}

export function signerMetrics(m: Metrics): SignerMetrics {
  const signatures = m.counter('dnssec_signatures_total', 'RRSIGs made (signature cache misses).');
  const seconds = m.counter('dnssec_signing_seconds_total', 'Time spent in signing calls, seconds.');
  const hits = m.counter('dnssec_signature_cache_hits_total', 'RRSIGs served from the signature cache.');
  return {
    signed(ms) {
      signatures.inc();
      seconds.inc(ms / 1000);
    },
    hit: () => hits.inc(),
  };
}
