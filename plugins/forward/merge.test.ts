/**
 * Identical queries in flight share one upstream query (RFC 5452 §5), against
 * a real UDP upstream on loopback: who shares, who does not, and what the
 * sharers do when that query fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rcode } from '../../src/dns/index.js';
import { Metrics } from '../../src/metrics.js';
import { expectReply, runPlugin } from '../../src/testing/harness.js';
import { A, forwardFixture } from './forward-fixture.js';

const { upstream, fwd } = forwardFixture();

/** Lets pending socket events run for a while (so a query that was going to leave has left). */
async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

test('identical queries in flight share one upstream query; each client gets the reply with its own ID', async () => {
  const up = await upstream({ hold: true });
  const metrics = new Metrics();
  const { p } = await fwd({ to: [up.address] }, { metrics });
  const ids = [101, 102, 103, 104, 105];
  const pending = ids.map((id) => runPlugin(p, { name: 'www.example.org', type: 'A', id }));
  await up.received(1);
  await turns();
  assert.equal(up.queries.length, 1, 'one query upstream for five identical ones');
  assert.equal(p.stats.merged, 4);
  up.release();
  const replies = await Promise.all(pending);
  replies.forEach((r, i) => {
    expectReply(r, { rcode: 'NOERROR', answer: [A] });
    assert.equal(r.msg!.id, ids[i]);
  });
  const text = await metrics.registry.metrics();
  assert.match(text, /^skydns_forward_merged_total 4$/m);
  assert.match(text, new RegExp(`^skydns_forward_requests_total\\{to="${up.address}"\\} 1$`, 'm'), 'the shared attempt counts once');
  assert.match(text, new RegExp(`^skydns_forward_responses_total\\{to="${up.address}",rcode="NOERROR"\\} 1$`, 'm'));

  // Once the reply is in, the same question goes upstream again: sharing is not a cache.
  up.set({ hold: false });
  expectReply(await runPlugin(p, { name: 'www.example.org', type: 'A' }), { answer: [A] });
  assert.equal(up.queries.length, 2);
  assert.equal(p.stats.merged, 4);
});

test('queries that differ in spelling, type, RD, CD, EDNS or DO are not shared', async () => {
  const up = await upstream({ hold: true });
  const { p } = await fwd({ to: [up.address] });
  const variants = [
    { name: 'www.example.org', type: 'A' },
    { name: 'WWW.example.org', type: 'A' },
    { name: 'www.example.org', type: 'AAAA' },
    { name: 'www.example.org', type: 'A', rd: false },
    { name: 'www.example.org', type: 'A', cd: true },
    { name: 'www.example.org', type: 'A', edns: { udpSize: 1232 } },
    { name: 'www.example.org', type: 'A', edns: { udpSize: 1232, do: true } },
    { name: 'www.example.org', type: 'A', edns: { udpSize: 512 } },
  ];
  const pending = variants.map((q) => runPlugin(p, q));
  await up.received(variants.length);
  await turns();
  assert.equal(up.queries.length, variants.length);
  assert.equal(p.stats.merged, 0);
  up.release();
  for (const r of await Promise.all(pending)) assert.equal(r.rcode, 'NOERROR');
});

test('a shared query that times out: every sharer goes on with its own tries; the failure counts once', async () => {
  const a = await upstream({ drop: true });
  const b = await upstream();
  const { p, clock } = await fwd({ to: [a.address, b.address], policy: 'sequential' });
  const pending = [1, 2, 3].map((id) => runPlugin(p, { name: 'www.example.org', type: 'A', id }, undefined, clock));
  await a.received(1);
  await turns();
  assert.equal(a.queries.length, 1);
  clock.advance(2000);
  const replies = await Promise.all(pending);
  replies.forEach((r, i) => {
    expectReply(r, { rcode: 'NOERROR', answer: [A] });
    assert.equal(r.msg!.id, i + 1);
  });
  assert.equal(p.stats.failedAttempts, 1);
  assert.equal(p.upstreams[0]!.fails, 1, 'one timeout, one failure on the upstream');
  // The retries are each query's own (they may be shared again only if identical and in flight together).
  assert.ok(b.queries.length >= 1 && b.queries.length <= 3, `${b.queries.length} retries`);
});

test('a shared reply that is malformed or REFUSED: the sharers try the next upstream too, counted once', async () => {
  // ANCOUNT 1 and no answer: a reply that matches the query but cannot be read.
  const broken = await upstream({
    handler: (q) => {
      const raw = Buffer.from(q.raw);
      raw[2]! |= 0x80;
      raw.writeUInt16BE(1, 6);
      return { raw };
    },
  });
  const refusing = await upstream({ handler: () => ({ rcode: Rcode.REFUSED }) });
  for (const first of [broken, refusing]) {
    const b = await upstream();
    const { p } = await fwd({ to: [first.address, b.address], policy: 'sequential', maxFails: 0 });
    const before = first.queries.length;
    const replies = await Promise.all([1, 2, 3].map((id) => runPlugin(p, { name: 'www.example.org', type: 'A', id })));
    replies.forEach((r, i) => {
      expectReply(r, { rcode: 'NOERROR', answer: [A] });
      assert.equal(r.msg!.id, i + 1);
    });
    assert.equal(first.queries.length - before, 1, 'one query to the first upstream');
    assert.equal(p.stats.merged, 2);
    assert.equal(p.stats.failedAttempts, first === broken ? 1 : 0);
    assert.ok(b.queries.length >= 1);
  }
});
