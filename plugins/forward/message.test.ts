import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeResponse } from '../../src/dns/index.js';
import { makeRequest } from '../../src/testing/harness.js';
import { buildUpstreamQuery, randomId, replyMatches, toClientWire, UPSTREAM_UDP_SIZE } from './message.js';

function replyTo(query: Buffer, over: { id?: number; name?: string; type?: number; withOpt?: boolean } = {}): Buffer {
  const header = { id: over.id ?? query.readUInt16BE(0), opcode: 0, rd: true, cd: false };
  const h = over.name || over.type ? { ...header, question: { name: over.name ?? 'www.example.org', type: over.type ?? 1, class: 1 } } : { ...header, questionRaw: query.subarray(12, query.length - (query.readUInt16BE(10) ? 11 : 0)) };
  return encodeResponse(h, { rcode: 0, flags: { ra: true }, answers: [{ name: 'www.example.org', type: 'A', ttl: 60, data: '192.0.2.1' }] }, 4096, over.withOpt ? { udpSize: 4096, rcode: 0, do: true } : null).wire;
}

test('the upstream query has a fresh ID, the client question spelling, RD/CD, and EDNS with DO only when the client sent EDNS', () => {
  const req = makeRequest({ name: 'WwW.Example.ORG', type: 'AAAA', id: 7, cd: true, edns: { udpSize: 4096, do: true } });
  const q = buildUpstreamQuery(req, 0xbeef);
  const d = decodeMessage(q);
  assert.equal(d.id, 0xbeef);
  assert.equal(d.rd, true);
  assert.equal(d.cd, true);
  assert.deepEqual(d.questions, [{ name: 'WwW.Example.ORG', type: 'AAAA', class: 'IN' }]);
  assert.deepEqual(d.edns, { udpSize: UPSTREAM_UDP_SIZE, version: 0, do: true });

  const plain = decodeMessage(buildUpstreamQuery(makeRequest({ name: 'example.org', type: 'A', rd: false }), 1));
  assert.equal(plain.edns, null);
  assert.equal(plain.rd, false);
  assert.equal(plain.cd, false);
  const small = decodeMessage(buildUpstreamQuery(makeRequest({ name: 'example.org', type: 'A', edns: { udpSize: 600 } }), 1));
  assert.equal(small.edns?.udpSize, 600);
  assert.equal(small.edns?.do, false);
});

test('replyMatches: same ID and question (case-insensitive) only', () => {
  const req = makeRequest({ name: 'WwW.Example.ORG', type: 'A' });
  const q = buildUpstreamQuery(req, 1000);
  assert.ok(replyMatches(replyTo(q), q));
  assert.ok(replyMatches(replyTo(q, { name: 'www.example.org' }), q), 'case differs only');
  assert.ok(!replyMatches(replyTo(q, { id: 1001 }), q), 'ID');
  assert.ok(!replyMatches(replyTo(q, { name: 'www.example.com' }), q), 'name');
  assert.ok(!replyMatches(replyTo(q, { name: 'www.example.org', type: 28 }), q), 'type');
  assert.ok(!replyMatches(q, q), 'a query is not a reply');
  assert.ok(!replyMatches(replyTo(q).subarray(0, 20), q), 'cut short');
  assert.ok(!replyMatches(Buffer.alloc(5), q), 'shorter than a header');
});

test('toClientWire restores the client ID and spelling and strips the upstream OPT', () => {
  const req = makeRequest({ name: 'WwW.Example.ORG', type: 'A', id: 4321, edns: { udpSize: 1232 } });
  const q = buildUpstreamQuery(req, 99);
  const out = toClientWire(replyTo(q, { name: 'www.example.org', withOpt: true }), req);
  const d = decodeMessage(out);
  assert.equal(d.id, 4321);
  assert.equal(d.questions[0]!.name, 'WwW.Example.ORG');
  assert.equal(d.edns, null);
  assert.equal(out.readUInt16BE(10), 0);
  assert.equal(d.answers?.[0]?.data, '192.0.2.1');
});

test('random IDs spread over the 16-bit space', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(randomId());
  assert.ok(seen.size > 1900, `only ${seen.size} distinct IDs in 2000`);
  assert.ok([...seen].every((n) => n >= 0 && n <= 0xffff));
});
