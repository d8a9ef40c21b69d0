import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerMap } from './answer-map.js';

/** A seeded generator (LCG), so every run draws the same slots. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Hits of `rounds` passes over `keys` keys in the same order, each miss inserting its key; the first pass not counted. */
function cyclicHits(m: AnswerMap<number>, keys: number, rounds: number): { hits: number; lookups: number } {
  let hits = 0;
  let lookups = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keys; i++) {
      const k = `A/svc${i}.production.skydns.local`;
      const hit = m.get(k) !== undefined;
      if (!hit) m.set(k, i);
      if (r > 0) {
        lookups++;
        if (hit) hits++;
      }
    }
  }
  return { hits, lookups };
}

describe('AnswerMap', () => {
  it('keeps at most its capacity, and nothing with 0', () => {
    const m = new AnswerMap<number>(3, seeded(1));
    for (let i = 0; i < 10; i++) m.set(`k${i}`, i);
    assert.equal(m.size, 3);
    assert.equal(m.get('k9'), 9, 'the entry just set is there');
    const none = new AnswerMap<number>(0);
    none.set('a', 1);
    assert.equal(none.size, 0);
    assert.equal(none.get('a'), undefined);
  });

  it('replaces a value in place, deletes and clears', () => {
    const m = new AnswerMap<string>(2, seeded(2));
    m.set('a', 'x');
    m.set('b', 'y');
    m.set('a', 'z');
    assert.equal(m.size, 2);
    assert.equal(m.get('a'), 'z');
    m.delete('a');
    m.delete('nope');
    assert.equal(m.get('a'), undefined);
    assert.equal(m.get('b'), 'y');
    m.set('c', 'w');
    m.set('d', 'v');
    assert.equal(m.size, 2);
    m.clear();
    assert.equal(m.size, 0);
    m.set('e', 'u');
    assert.equal(m.get('e'), 'u');
  });

  it('still hits on a cyclic scan over twice its capacity (oldest-first would never hit)', () => {
    const cap = 512;
    const { hits, lookups } = cyclicHits(new AnswerMap<number>(cap, seeded(3)), 2 * cap, 10);
    // Random replacement keeps about a fifth of a 2× cycle; FIFO/CLOCK keep none of it.
    assert.ok(hits / lookups > 0.1, `hit ratio ${(hits / lookups).toFixed(3)}`);
    // The same scan within capacity: every lookup after the first pass hits.
    const fits = cyclicHits(new AnswerMap<number>(cap, seeded(4)), cap, 3);
    assert.equal(fits.hits, fits.lookups);
  });

  it('gives entries read since the last draw a second chance', () => {
    // Capacity 2: "hot" is read before each insert, the others never. A draw
    // that lands on "hot" clears its mark and draws again.
    const draws = [0, 0.9, 0, 0.9];
    let i = 0;
    const m = new AnswerMap<number>(2, () => draws[i++ % draws.length]!);
    m.set('hot', 0);
    m.set('cold1', 1);
    m.get('hot');
    m.set('cold2', 2); // draws slot 0 (hot, marked: spared), then slot 1 (cold1: evicted)
    assert.equal(m.get('cold1'), undefined);
    assert.equal(m.get('hot'), 0);
    assert.equal(m.get('cold2'), 2);
  });

  it('asks a capacity function only when full, and follows it when it grows or shrinks', () => {
    let cap = 2;
    let asked = 0;
    const m = new AnswerMap<number>(() => {
      asked++;
      return cap;
    }, seeded(5));
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    assert.equal(m.size, 2);
    cap = 4;
    m.set('d', 4);
    m.set('e', 5);
    assert.equal(m.size, 4);
    cap = 1;
    m.set('f', 6);
    assert.equal(m.size, 1);
    assert.equal(m.get('f'), 6);
    assert.ok(asked >= 3);
  });
});
