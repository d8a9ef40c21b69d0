import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeQuery } from './decode.js';
import { parseQuery } from './query.js';
import { Rcode } from './types.js';

const q = (name = 'WeB.Production.skydns.local', type = 'SRV', edns: { udpSize: number; do?: boolean; version?: number } | null = null) =>
  encodeQuery({ id: 0x1234, name, type, edns });

test('parses header, question (spelling kept) and EDNS without a full decode', () => {
  const v = parseQuery(q('WeB.Production.skydns.local', 'SRV', { udpSize: 4096, do: true }));
  assert.equal(v.kind, 'ok');
  if (v.kind !== 'ok') return;
  assert.equal(v.query.id, 0x1234);
  assert.equal(v.query.qname, 'WeB.Production.skydns.local');
  assert.equal(v.query.qtype, 33);
  assert.equal(v.query.qclass, 1);
  assert.deepEqual(v.query.edns, { udpSize: 4096, version: 0, do: true });
  assert.equal(v.query.rd, true);
});

test('root name and a name with an escaped dot', () => {
  const root = parseQuery(q('.', 'NS'));
  assert.equal(root.kind === 'ok' && root.query.qname, '.');
  const raw = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1]);
  const v = parseQuery(raw);
  assert.equal(v.kind === 'ok' && v.query.qname, 'a\\.b');
});

test('EDNS size below 512 is treated as 512 (RFC 6891 6.2.5)', () => {
  const v = parseQuery(q('a.b', 'A', { udpSize: 100 }));
  assert.equal(v.kind === 'ok' && v.query.edns?.udpSize, 512);
});

test('drops responses and short packets', () => {
  assert.equal(parseQuery(Buffer.alloc(11)).kind, 'drop');
  const r = q();
  r[2] = r[2]! | 0x80;
  assert.equal(parseQuery(r).kind, 'drop');
});

const cases: [string, (b: Buffer) => Buffer, number][] = [
  ['QDCOUNT 0', (b) => { b.writeUInt16BE(0, 4); return b; }, Rcode.FORMERR],
  ['QDCOUNT 2', (b) => { b.writeUInt16BE(2, 4); return b; }, Rcode.FORMERR],
  ['truncated question', (b) => b.subarray(0, 20), Rcode.FORMERR],
  ['missing type/class', (b) => b.subarray(0, b.length - 3), Rcode.FORMERR],
  ['compression pointer in question', (b) => { b[12] = 0xc0; b[13] = 12; return b; }, Rcode.FORMERR],
  ['extended label type', (b) => { b[12] = 0x41; return b; }, Rcode.FORMERR],
  ['opcode STATUS', (b) => { b[2] = (b[2]! & 0x87) | (2 << 3); return b; }, Rcode.NOTIMP],
  ['opcode UPDATE', (b) => { b[2] = (b[2]! & 0x87) | (5 << 3); return b; }, Rcode.NOTIMP],
  ['ARCOUNT claims a record that is not there', (b) => { b.writeUInt16BE(1, 10); return b; }, Rcode.FORMERR],
];
for (const [name, mutate, rcode] of cases) {
  test(`error verdict: ${name}`, () => {
    const v = parseQuery(mutate(q()));
    assert.equal(v.kind, 'error');
    if (v.kind === 'error') assert.equal(v.rcode, rcode);
  });
}

test('label over 63 bytes and name over 255 bytes are FORMERR', () => {
  const long = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  assert.equal(parseQuery(long).kind, 'error');
  const labels: number[] = [];
  for (let i = 0; i < 5; i++) labels.push(60, ...Buffer.alloc(60, 0x61));
  const big = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from(labels), Buffer.from([0, 0, 1, 0, 1])]);
  const v = parseQuery(big);
  assert.equal(v.kind === 'error' && v.rcode, Rcode.FORMERR);
});

test('EDNS version 1 is BADVERS, two OPT records are FORMERR', () => {
  const v = parseQuery(q('a.b', 'A', { udpSize: 1232, version: 1 }));
  assert.equal(v.kind === 'error' && v.rcode, Rcode.BADVERS);
  const one = q('a.b', 'A', { udpSize: 1232 });
  const opt = one.subarray(one.length - 11);
  const two = Buffer.concat([one, opt]);
  two.writeUInt16BE(2, 10);
  const w = parseQuery(two);
  assert.equal(w.kind === 'error' && w.rcode, Rcode.FORMERR);
});

test('malformed EDNS option lengths are FORMERR', () => {
  const b = q('a.b', 'A', { udpSize: 1232 });
  const withOpt = Buffer.concat([b.subarray(0, b.length - 2), Buffer.from([0, 3, 0, 10, 0])]); // rdlen 3, option truncated
  assert.equal(parseQuery(withOpt).kind, 'error');
});

test('never throws on random bytes', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  const base = q('web.production.skydns.local', 'SRV', { udpSize: 1232 });
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.from(base);
    const flips = 1 + (rnd() % 6);
    for (let k = 0; k < flips; k++) b[rnd() % b.length] = rnd();
    const cut = rnd() % 4 === 0 ? b.subarray(0, rnd() % b.length) : b;
    const v = parseQuery(cut);
    assert.ok(['ok', 'drop', 'error'].includes(v.kind));
  }
});

test('the question name text matches label-by-label presentation for every byte value', async () => {
  const { labelToText } = await import('./names.js');
  let seed = 99;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 3000; i++) {
    const labels: Buffer[] = Array.from({ length: 1 + rnd(4) }, () =>
      Buffer.from(Array.from({ length: 1 + rnd(12) }, () => (rnd(3) === 0 ? rnd(256) : 0x61 + rnd(26)))));
    const raw = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0, 0, 1, 0, 1])]);
    const v = parseQuery(raw);
    assert.equal(v.kind, 'ok');
    if (v.kind !== 'ok') return;
    assert.equal(v.query.qname, labels.map((l) => labelToText(l, 0, l.length)).join('.'));
  }
});

test('the lowercased name comes with the parse: ASCII letters only, the same string when already lowercase', () => {
  const v = parseQuery(q('WeB.Production.skydns.local', 'A'));
  assert.equal(v.kind === 'ok' && v.query.name, 'web.production.skydns.local');
  const lower = parseQuery(q('web.production.skydns.local', 'A'));
  assert.ok(lower.kind === 'ok' && lower.query.name === lower.query.qname);
  // Bytes above 0x7f are not letters (RFC 4343): kept as they are, escaped in the text.
  const raw = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x41, 0xc4, 0x2e, 1, 0x5a, 0, 0, 1, 0, 1]);
  const odd = parseQuery(raw);
  assert.equal(odd.kind, 'ok');
  if (odd.kind !== 'ok') return;
  assert.equal(odd.query.qname, 'A\\196\\..Z');
  assert.equal(odd.query.name, 'a\\196\\..z');
});

test('a name of exactly 255 bytes parses; 256 is FORMERR', () => {
  const label = (n: number) => 'x'.repeat(n);
  // 3 × 63-byte labels (192 wire bytes) + one of 61 (62) + root = 255.
  const ok = parseQuery(q([label(63), label(63), label(63), label(61)].join('.'), 'A'));
  assert.equal(ok.kind, 'ok');
  const long = parseQuery(q([label(63), label(63), label(63), label(62)].join('.'), 'A'));
  assert.equal(long.kind === 'error' && long.rcode, Rcode.FORMERR);
});
