/**
 * The hot-path metrics (seriesCounter, seriesHistogram) must read exactly
 * like prom-client's own Counter and Histogram: same text for the same
 * observations, and the same JSON for the workers' aggregation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { Metrics } from './metrics.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// On a bound, between bounds, below the first, above the last (+Inf only).
const VALUES = [0.0005, 0.0007, 0.0001, 7, 0.3, 0.3, 2.5, 0.011];

test('seriesHistogram reads as prom-client Histogram does: buckets (cumulative, le), _sum, _count', async () => {
  const m = new Metrics();
  const h = m.seriesHistogram('d_seconds', 'help text', ['to'], BUCKETS);
  const ref = new Registry();
  const p = new Histogram({ name: 'skydns_d_seconds', help: 'help text', labelNames: ['to'], buckets: BUCKETS, registers: [ref] });
  for (const [i, v] of VALUES.entries()) {
    const to = i % 3 === 0 ? '[::1]:53' : '127.0.0.1:53';
    h.series({ to }).observe(v);
    p.observe({ to }, v);
  }
  assert.equal(await m.registry.metrics(), await ref.metrics());
  assert.match(await m.registry.metrics(), /^skydns_d_seconds_bucket\{le="\+Inf",to="127\.0\.0\.1:53"\} 5$/m);
});

test('seriesCounter reads as prom-client Counter does; one series per label set, found again by value', async () => {
  const m = new Metrics();
  const c = m.seriesCounter('r_total', 'help', ['to', 'rcode']);
  const ref = new Registry();
  const p = new Counter({ name: 'skydns_r_total', help: 'help', labelNames: ['to', 'rcode'], registers: [ref] });
  const a = c.series({ to: 'a', rcode: 'NOERROR' });
  a.inc();
  a.inc(2);
  c.series({ rcode: 'NXDOMAIN', to: 'a' }).inc();
  assert.equal(c.series({ rcode: 'NOERROR', to: 'a' }), a, 'the same series whatever the key order');
  p.inc({ to: 'a', rcode: 'NOERROR' }, 3);
  p.inc({ to: 'a', rcode: 'NXDOMAIN' });
  assert.equal(await m.registry.metrics(), await ref.metrics());
  assert.equal(m.seriesCounter('r_total', 'help', ['to', 'rcode']), c, 'a second plugin instance gets the same metric');
  assert.throws(() => c.series({ to: 'a', kind: 'x' } as never), /label "kind"/);
});

test('workers: the aggregated JSON of two registries sums both kinds, as for prom-client metrics', async () => {
  const one = new Metrics();
  const two = new Metrics();
  for (const m of [one, two]) {
    m.seriesCounter('r_total', 'help', ['to']).series({ to: 'a' }).inc(2);
    m.seriesHistogram('d_seconds', 'help', ['to'], [0.1, 1]).series({ to: 'a' }).observe(0.5);
  }
  const text = await AggregatorRegistry.aggregate([await one.registry.getMetricsAsJSON(), await two.registry.getMetricsAsJSON()] as never).metrics();
  assert.match(text, /^skydns_r_total\{to="a"\} 4$/m);
  assert.match(text, /^skydns_d_seconds_bucket\{le="1",to="a"\} 2$/m);
  assert.match(text, /^skydns_d_seconds_count\{to="a"\} 2$/m);
  assert.match(text, /^skydns_d_seconds_sum\{to="a"\} 1$/m);
});
