import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../metrics.js';
import { parsePrometheus } from '../testing/prometheus.js';
import { instrumentRegistry } from './metrics.js';
import type { Registry, RegistryEvent, RegistryEventKind, StoredService } from './types.js';

/** Just enough of a Registry for its metrics: change events, readiness, the live list, and optionally a mirror lag. */
function fakeRegistry(lag?: () => number | undefined) {
  const listeners = new Set<(ev: RegistryEvent) => void>();
  const live: StoredService[] = [];
  const r = {
    ready: () => true,
    list: () => [...live],
    onChange(fn: (ev: RegistryEvent) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    ...(lag ? { mirrorLagSeconds: lag } : {}),
  };
  const emit = (kind: RegistryEventKind) => {
    const service = { UUID: String(live.length) } as StoredService;
    if (kind === 'put') live.push(service);
    if (kind === 'remove' || kind === 'expire') live.pop();
    for (const fn of listeners) fn({ kind, service });
  };
  return { registry: r as unknown as Registry, emit, listeners };
}

const scrape = async (m: Metrics) => parsePrometheus(await m.registry.metrics());

describe('registry metrics', () => {
  it('count changes by kind and read the live size at scrape time', async () => {
    const m = new Metrics();
    const f = fakeRegistry();
    instrumentRegistry(m, f.registry);
    let e = await scrape(m);
    assert.equal(e.value('skydns_registry_services'), 0);
    for (const k of ['put', 'refresh', 'remove', 'expire']) assert.equal(e.value('skydns_registry_changes_total', { kind: k }), 0, `${k} starts at 0`);
    f.emit('put');
    f.emit('put');
    f.emit('refresh');
    f.emit('expire');
    e = await scrape(m);
    assert.equal(e.value('skydns_registry_services'), 1);
    assert.equal(e.value('skydns_registry_changes_total', { kind: 'put' }), 2);
    assert.equal(e.value('skydns_registry_changes_total', { kind: 'refresh' }), 1);
    assert.equal(e.value('skydns_registry_changes_total', { kind: 'expire' }), 1);
    assert.equal(e.value('skydns_registry_mirror_lag_seconds'), undefined, 'no lag gauge for a backend without a mirror');
  });

  it('several plugins instrumenting the same registry subscribe once', async () => {
    const m = new Metrics();
    const f = fakeRegistry();
    instrumentRegistry(m, f.registry);
    instrumentRegistry(m, f.registry);
    instrumentRegistry(m, f.registry);
    assert.equal(f.listeners.size, 1);
    f.emit('put');
    assert.equal((await scrape(m)).value('skydns_registry_changes_total', { kind: 'put' }), 1);
  });

  it('a new registry on the same app replaces the old one', async () => {
    const m = new Metrics();
    const a = fakeRegistry();
    const b = fakeRegistry();
    instrumentRegistry(m, a.registry);
    instrumentRegistry(m, b.registry);
    assert.equal(a.listeners.size, 0);
    assert.equal(b.listeners.size, 1);
    b.emit('put');
    a.emit('put');
    const e = await scrape(m);
    assert.equal(e.value('skydns_registry_changes_total', { kind: 'put' }), 1);
    assert.equal(e.value('skydns_registry_services'), 1);
  });

  it('a mirroring backend reports its lag through MirrorStatus', async () => {
    const m = new Metrics();
    let lag: number | undefined;
    instrumentRegistry(m, fakeRegistry(() => lag).registry);
    assert.equal((await scrape(m)).value('skydns_registry_mirror_lag_seconds'), 0, 'unknown lag leaves the gauge alone');
    lag = 2.5;
    assert.equal((await scrape(m)).value('skydns_registry_mirror_lag_seconds'), 2.5);
  });
});
