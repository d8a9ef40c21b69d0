import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { svc } from './contract.test-suite.js';
import { EmbeddedRegistry } from './embedded.js';
import { answerGeneration } from './generation.js';
import type { Registry, RegistryEvent } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'skydns-generation-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the answers generation moves on registrations, deletions, expiry and NoExpire refreshes, not on heartbeats', async () => {
  const clock = new ManualClock();
  const r = new EmbeddedRegistry({ path: join(root, 'a'), clock, logger: silentLogger });
  await r.start();
  try {
    const g = answerGeneration(r);
    assert.equal(answerGeneration(r), g, 'one per registry');
    let last = g.version;
    const moved = (): boolean => {
      const v = g.version;
      const m = v !== last;
      last = v;
      return m;
    };
    await r.put(svc({ UUID: 'a', TTL: 30 }));
    assert.ok(moved(), 'registration');
    await r.refresh('a');
    await r.refresh('a', 60);
    assert.ok(!moved(), 'heartbeats of an expiring service');
    await r.put(svc({ UUID: 'n', TTL: 10, NoExpire: true }));
    assert.ok(moved(), 'registration of a NoExpire service');
    await r.refresh('n', 20);
    assert.ok(moved(), 'a NoExpire refresh can change the TTL answers carry');
    await r.refresh('a');
    await r.remove('n');
    assert.ok(moved(), 'a heartbeat and a deletion together');
    clock.advance(61_000);
    await r.flush();
    assert.ok(moved(), 'expiry');
  } finally {
    await r.close();
  }
});

test('a version that moved without the events to explain it moves the generation', () => {
  let version = 5;
  let listener: ((ev: RegistryEvent) => void) | undefined;
  const fake = { get version() { return version; }, onChange: (fn: (ev: RegistryEvent) => void) => { listener = fn; return () => undefined; } } as unknown as Registry;
  const g = answerGeneration(fake);
  const g0 = g.version;
  version += 2;
  listener!({ kind: 'refresh', service: { ...svc({ UUID: 'x' }), expiresAt: 1000 } });
  assert.notEqual(g.version, g0, 'two changes, one refresh announced');
  const g1 = g.version;
  version += 1;
  assert.notEqual(g.version, g1, 'a change with no event at all');
  const g2 = g.version;
  version += 1;
  listener!({ kind: 'refresh', service: { ...svc({ UUID: 'x' }), expiresAt: 2000 } });
  assert.equal(g.version, g2, 'exactly one refresh');
});
