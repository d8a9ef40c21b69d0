import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from './clock.js';
import { BucketTable } from './token-buckets.js';

const takes = (t: BucketTable, key: string, n: number) => Array.from({ length: n }, () => t.take(key).ok).filter(Boolean).length;

describe('BucketTable', () => {
  test('a new key gets the burst, then the rate, never more than the burst', () => {
    const clock = new ManualClock();
    const t = new BucketTable(clock, 10, 30, 100);
    assert.equal(takes(t, 'a', 100), 30);
    clock.advance(500);
    assert.equal(takes(t, 'a', 100), 5);
    clock.advance(100);
    assert.equal(takes(t, 'a', 100), 1);
    clock.advance(3_600_000);
    assert.equal(takes(t, 'a', 100), 30);
  });

  test('fractional refill accumulates', () => {
    const clock = new ManualClock();
    const t = new BucketTable(clock, 2, 1, 10);
    assert.equal(takes(t, 'a', 5), 1);
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      clock.advance(100); // 0.2 tokens each time
      ok += takes(t, 'a', 1);
    }
    assert.equal(ok, 4);
  });

  test('tells how long until the next token', () => {
    const clock = new ManualClock();
    const t = new BucketTable(clock, 4, 1, 10);
    assert.equal(t.take('a').retryAfterMs, 0);
    assert.equal(t.take('a').retryAfterMs, 250);
    clock.advance(100);
    assert.equal(t.take('a').retryAfterMs, 150);
  });

  test('counts limited responses per key', () => {
    const t = new BucketTable(new ManualClock(), 1, 2, 10);
    assert.deepEqual([t.take('a'), t.take('a'), t.take('a'), t.take('a'), t.take('b')].map((x) => [x.ok, x.limited]), [[true, 0], [true, 0], [false, 1], [false, 2], [true, 0]]);
  });

  test('stays within max buckets, forgetting the least recently used first', () => {
    const t = new BucketTable(new ManualClock(), 1, 3, 3);
    for (const k of ['a', 'b', 'c']) takes(t, k, 3);
    takes(t, 'a', 1); // a is now the most recent
    takes(t, 'd', 1); // evicts b
    assert.equal(t.size, 3);
    assert.equal(t.evictions, 1);
    assert.equal(takes(t, 'a', 1), 0, 'a kept its empty bucket');
    assert.equal(takes(t, 'b', 3), 3, 'b was forgotten: a fresh bucket');
    for (let i = 0; i < 1000; i++) t.take(`k${i}`);
    assert.equal(t.size, 3);
  });
});
