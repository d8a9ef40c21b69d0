import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { Freshness } from './freshness.js';

// Contact times are given relative to performance.now() (what lagMs() reads), so nothing sleeps.
const ago = (ms: number): number => performance.now() - ms;

describe('Freshness: vouching for a mirrored copy', () => {
  it('vouches only when synced and heard from within staleAfterMs, and counts every change of state', () => {
    const f = new Freshness({ staleAfterMs: 3000, mode: 'serve', maxStaleMs: 60_000 });
    assert.equal(f.update(false), false, 'never heard, not synced: starts not vouching');
    assert.equal(f.vouches, false);
    assert.deepEqual(f.staleness(100_000), { stale: true, lagSeconds: null, readAt: 40_000 }, 'never heard: records serve at most maxStale past expiry');
    f.heard(ago(100), 1_000_000);
    assert.equal(f.update(false), false, 'heard, but not synced yet');
    assert.equal(f.update(true), true);
    assert.equal(f.vouches, true);
    assert.equal(f.flips, 1);
    assert.equal(f.staleness(0).stale, false);
    assert.ok(f.staleness(0).lagSeconds! >= 0.1 && f.staleness(0).lagSeconds! < 3);
    f.heard(ago(5000), 0); // older than what it has: ignored
    assert.equal(f.update(true), false);
    const g = new Freshness({ staleAfterMs: 3000, mode: 'serve', maxStaleMs: 60_000 });
    g.heard(ago(4000), 1_000_000);
    assert.equal(g.update(true), false, 'last heard 4 s ago, bound 3 s: not vouching');
    assert.equal(g.vouches, false);
    assert.ok(g.lagMs() >= 4000);
    g.heard(ago(0), 1_004_000);
    assert.equal(g.update(true), true, 'heard again: vouches again');
    assert.equal(g.flips, 1);
  });

  it('serve: reads compare expiries with the last contact, no earlier than maxStale ago; servfail: with now', () => {
    const serve = new Freshness({ staleAfterMs: 3000, mode: 'serve', maxStaleMs: 60_000 });
    serve.heard(ago(10_000), 1_000_000);
    serve.update(true);
    assert.equal(serve.readNow(1_010_000), 1_000_000, 'a record that expired after the last contact is still served');
    assert.equal(serve.readNow(1_100_000), 1_040_000, 'but at most maxStale past its expiry');
    assert.equal(serve.staleness(1_010_000).readAt, 1_000_000, 'handed on to workers');
    const servfail = new Freshness({ staleAfterMs: 3000, mode: 'servfail', maxStaleMs: 60_000 });
    servfail.heard(ago(10_000), 1_000_000);
    servfail.update(true);
    assert.equal(servfail.readNow(1_010_000), 1_010_000);
    const fresh = new Freshness({ staleAfterMs: 3000, mode: 'serve', maxStaleMs: 60_000 });
    fresh.heard(ago(0), 1_000_000);
    fresh.update(true);
    assert.equal(fresh.readNow(1_000_500), 1_000_500, 'vouching: now');
  });
});
