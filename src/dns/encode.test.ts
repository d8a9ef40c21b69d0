import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as packet from 'dns-packet';
import { decodeMessage, encodeQuery } from './decode.js';
import { encodeResponse, type EncodeHeader } from './encode.js';
import { formatRR } from './presentation.js';
import type { RR } from './types.js';

const question = (name: string, type = 33): EncodeHeader => ({ id: 7, opcode: 0, rd: true, cd: false, question: { name, type, class: 1 } });

function srvSet(n: number, owner = 'web.production.skydns.local'): RR[] {
  return Array.from({ length: n }, (_, i) => ({ name: owner, type: 'SRV', ttl: 30, data: { priority: 10, weight: 5, port: 8080, target: `web${i % 10}.example` } }));
}

test('a 20-record SRV answer is compressed to what bind9 sends', () => {
  const answers = srvSet(20);
  const { wire } = encodeResponse(question('web.production.skydns.local'), { rcode: 0, answers }, 65535, null);
  // header 12 + question (29 + 4) + 20 × (owner pointer 2 + 10 fixed + 6 SRV fields + target "webN.example." 14)
  assert.equal(wire.length, 12 + 33 + 20 * 32);
  const plain = packet.encode({ type: 'response', id: 7, questions: [{ name: 'web.production.skydns.local', type: 'SRV' }], answers: answers as packet.Answer[] });
  assert.ok(plain.length / wire.length > 1.7, `dns-packet ${plain.length} vs ours ${wire.length}`);
  const d = decodeMessage(wire);
  assert.deepEqual(d.answers!.map(formatRR), answers.map(formatRR));
});

test('owner names point at the question, keeping the client spelling (0x20)', () => {
  const raw = encodeQuery({ id: 9, name: 'WeB.PRODuction.skydns.local', type: 'SRV' });
  const h: EncodeHeader = { id: 9, opcode: 0, rd: true, cd: false, questionRaw: raw.subarray(12, raw.length) };
  const { wire } = encodeResponse(h, { rcode: 0, answers: srvSet(2) }, 512, null);
  const d = decodeMessage(wire);
  assert.equal(d.questions[0]!.name, 'WeB.PRODuction.skydns.local');
  assert.equal(d.answers![0]!.name, 'WeB.PRODuction.skydns.local');
  // a sibling name reuses the question's suffix
  const { wire: w2 } = encodeResponse(h, { rcode: 0, answers: [{ name: 'x.production.skydns.local', type: 'A', ttl: 5, data: '192.0.2.1' }] }, 512, null);
  assert.equal(decodeMessage(w2).answers![0]!.name, 'x.PRODuction.skydns.local');
});

test('names inside CNAME, NS, MX and SOA data are compressed; SRV targets are not', () => {
  const answers: RR[] = [
    { name: 'a.example.org', type: 'CNAME', ttl: 1, data: 'b.example.org' },
    { name: 'example.org', type: 'NS', ttl: 1, data: 'ns1.example.org' },
    { name: 'example.org', type: 'MX', ttl: 1, data: { preference: 10, exchange: 'mail.example.org' } },
    { name: 'example.org', type: 'SOA', ttl: 1, data: { mname: 'ns1.example.org', rname: 'hostmaster.example.org', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
    { name: 'example.org', type: 'SRV', ttl: 1, data: { priority: 1, weight: 2, port: 3, target: 'a.example.org' } },
    { name: 'example.org', type: 'TXT', ttl: 1, data: ['hello world'] },
    { name: 'example.org', type: 'AAAA', ttl: 1, data: '2001:db8::1' },
  ];
  const { wire } = encodeResponse(question('a.example.org', 255), { rcode: 0, answers }, 65535, null);
  const d = decodeMessage(wire);
  assert.deepEqual(d.answers!.map(formatRR), answers.map(formatRR));
  // SRV target written in full: its labels appear verbatim after the SRV fixed fields
  const srvAt = wire.indexOf(Buffer.from([0, 1, 0, 2, 0, 3]));
  assert.ok(srvAt > 0);
  assert.deepEqual(wire.subarray(srvAt + 6, srvAt + 6 + 15), Buffer.from('\x01a\x07example\x03org\x00', 'latin1'));
});

test('truncation drops whole records from the end and sets TC; OPT and question stay', () => {
  const answers = srvSet(60);
  const { wire, truncated } = encodeResponse(question('web.production.skydns.local'), { rcode: 0, answers }, 512, { udpSize: 1232, rcode: 0, do: true });
  assert.equal(truncated, true);
  assert.ok(wire.length <= 512);
  const d = decodeMessage(wire);
  assert.equal(d.flags.tc, true);
  assert.equal(d.questions.length, 1);
  assert.ok(d.answers!.length > 0 && d.answers!.length < 60);
  assert.deepEqual(d.edns, { udpSize: 1232, version: 0, do: true });
  assert.equal(wire.length + 32 > 512, true, 'no room for one more record');
});

test('additional records that do not fit are dropped without TC (RFC 2181 §9)', () => {
  const additionals: RR[] = Array.from({ length: 40 }, (_, i) => ({ name: `h${i}.skydns.local`, type: 'A', ttl: 5, data: '192.0.2.1' }));
  const { wire, truncated } = encodeResponse(question('web.production.skydns.local'), { rcode: 0, answers: srvSet(2), additionals }, 512, null);
  assert.equal(truncated, false);
  const d = decodeMessage(wire);
  assert.equal(d.flags.tc, false);
  assert.equal(d.answers!.length, 2);
  assert.ok(d.additionals!.length < 40);
});

test('a full answer fits within 65535 over TCP', () => {
  const { wire, truncated } = encodeResponse(question('web.production.skydns.local'), { rcode: 0, answers: srvSet(60) }, 65535, null);
  assert.equal(truncated, false);
  assert.equal(decodeMessage(wire).answers!.length, 60);
});

test('BADVERS goes in the OPT extended rcode', () => {
  const { wire } = encodeResponse(question('a.b', 1), { rcode: 16 }, 512, { udpSize: 1232, rcode: 16, do: false });
  assert.equal(wire[3]! & 0xf, 0);
  const d = decodeMessage(wire);
  assert.equal(d.rcode, 16);
});

test('unknown types go through as RFC 3597 data; a bad record throws', () => {
  const { wire } = encodeResponse(question('a.b', 65280), { rcode: 0, answers: [{ name: 'a.b', type: 'TYPE65280', ttl: 1, data: Buffer.from([1, 2, 3]) }] }, 512, null);
  const d = decodeMessage(wire);
  assert.equal(d.answers![0]!.type, 'TYPE65280');
  assert.throws(() => encodeResponse(question('a.b', 1), { rcode: 0, answers: [{ name: 'a..b', type: 'A', ttl: 1, data: '1.2.3.4' }] }, 512, null));
});

test('compression matches names case-insensitively in ASCII only (RFC 4343), not latin1 bytes', () => {
  // Found by review: bytes 0xC0 and 0xE0 differ only in latin1 "case"; they are different names.
  const q = encodeQuery({ id: 1, name: 'x.example', type: 'A' });
  const raw = Buffer.concat([q.subarray(0, 12), Buffer.from([1, 0xc0, 7]), Buffer.from('example'), Buffer.from([0, 0, 1, 0, 1])]);
  const h: EncodeHeader = { id: 1, opcode: 0, rd: true, cd: false, questionRaw: raw.subarray(12) };
  const { wire } = encodeResponse(h, { rcode: 0, answers: [{ name: '\\224.example', type: 'A', ttl: 5, data: '192.0.2.1' }, { name: 'X.EXAMPLE', type: 'A', ttl: 5, data: '192.0.2.2' }] }, 512, null);
  const owner = wire.subarray(raw.length, raw.length + 2).toString('hex');
  assert.notEqual(owner, 'c00c', 'the \\224 owner is not a pointer to the \\192 question');
  assert.equal(wire[raw.length], 1);
  assert.equal(wire[raw.length + 1], 0xe0);
});
