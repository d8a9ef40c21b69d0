import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeQuery } from './decode.js';
import { encodeResponse } from './encode.js';
import { parseQuery } from './query.js';
import { minTtl, patchWire, prepareWire } from './wire-answer.js';

function reply(ttls = [30, 20]) {
  const raw = encodeQuery({ id: 1, name: 'web.skydns.local', type: 'A' });
  const { wire } = encodeResponse(
    { id: 1, opcode: 0, rd: true, cd: false, questionRaw: raw.subarray(12) },
    { rcode: 0, flags: { aa: true }, answers: [{ name: 'web.skydns.local', type: 'A', ttl: ttls[0]!, data: '192.0.2.1' }, { name: 'web.skydns.local', type: 'A', ttl: ttls[1]!, data: '192.0.2.2' }] },
    512,
    { udpSize: 1232, rcode: 0, do: false },
  );
  return wire;
}

test('prepareWire strips the OPT record and indexes TTLs', () => {
  const w = prepareWire(reply());
  assert.equal(w.wire.readUInt16BE(10), 0);
  assert.equal(w.ttlOffsets.length, 2);
  assert.equal(minTtl(w), 20);
  assert.equal(decodeMessage(w.wire).edns, null);
});

test('patchWire sets the ID, RD, the client spelling and ages TTLs', () => {
  const w = prepareWire(reply());
  const q = encodeQuery({ id: 999, name: 'WEB.skydns.LOCAL', type: 'A', rd: false });
  const v = parseQuery(q);
  assert.equal(v.kind, 'ok');
  if (v.kind !== 'ok') return;
  const out = patchWire(w, 999, false, q, v.query.qnameEnd, 25)!;
  const d = decodeMessage(out);
  assert.equal(d.id, 999);
  assert.equal(d.rd, false);
  assert.equal(d.questions[0]!.name, 'WEB.skydns.LOCAL');
  assert.equal(d.answers![0]!.name, 'WEB.skydns.LOCAL');
  assert.deepEqual(d.answers!.map((a) => a.ttl), [5, 0]);
  assert.equal(d.flags.aa, true);
  // the stored copy is untouched
  assert.equal(decodeMessage(w.wire).answers![0]!.ttl, 30);
});

test('patchWire ages TTLs in all four bytes', () => {
  const w = prepareWire(reply([0x01020304, 0x7f00ff00]));
  const q = encodeQuery({ id: 0xabcd, name: 'web.skydns.local', type: 'A' });
  const v = parseQuery(q);
  assert.equal(v.kind, 'ok');
  if (v.kind !== 'ok') return;
  const out = patchWire(w, 0xabcd, true, q, v.query.qnameEnd, 0x010305)!;
  assert.equal(out.readUInt16BE(0), 0xabcd);
  assert.deepEqual(w.ttlOffsets.map((o) => out.readUInt32BE(o)), [0x01020304 - 0x010305, 0x7f00ff00 - 0x010305]);
});

test('patchWire refuses a question of another length', () => {
  const w = prepareWire(reply());
  const q = encodeQuery({ id: 1, name: 'webx.skydns.local', type: 'A' });
  const v = parseQuery(q);
  assert.equal(v.kind === 'ok' && patchWire(w, 1, true, q, v.query.qnameEnd, 0), null);
});

test('prepareWire rejects garbage', () => {
  assert.throws(() => prepareWire(Buffer.alloc(5)));
  const bad = reply();
  bad.writeUInt16BE(9, 6);
  assert.throws(() => prepareWire(bad));
});

test('an OPT record in the middle of the additional section is cut out (RFC 6891 allows any position)', () => {
  const raw = encodeQuery({ id: 1, name: 'web.skydns.local', type: 'SRV' });
  const { wire } = encodeResponse(
    { id: 1, opcode: 0, rd: true, cd: false, questionRaw: raw.subarray(12) },
    { rcode: 0, answers: [{ name: 'web.skydns.local', type: 'SRV', ttl: 30, data: { priority: 10, weight: 100, port: 80, target: 'a.skydns.local' } }],
      additionals: [{ name: 'a.skydns.local', type: 'A', ttl: 40, data: '192.0.2.1' }, { name: 'b.skydns.local', type: 'A', ttl: 50, data: '192.0.2.2' }] },
    512,
    null,
  );
  // Splice an OPT record between the two additional A records.
  const secondA = wire.lastIndexOf(Buffer.from('\x01b', 'latin1'));
  const opt = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
  const spliced = Buffer.concat([wire.subarray(0, secondA), opt, wire.subarray(secondA)]);
  spliced.writeUInt16BE(3, 10);
  const w = prepareWire(spliced);
  assert.equal(w.wire.readUInt16BE(10), 2);
  const d = decodeMessage(w.wire);
  assert.equal(d.edns, null);
  assert.deepEqual(d.additionals!.map((a) => [a.name, a.ttl]), [['a.skydns.local', 40], ['b.skydns.local', 50]]);
  assert.deepEqual(w.ttlOffsets.map((o) => w.wire.readUInt32BE(o)), [30, 40, 50]);
});

test('a patched copy has room for the OPT record behind it: any of the last 64 copies, each once', async () => {
  const { allocReply, takeOptRoom, OPT_ROOM } = await import('./wire-answer.js');
  const q = encodeQuery({ id: 1, name: 'a.test', type: 'A' });
  const v = parseQuery(q);
  assert.equal(v.kind, 'ok');
  const w = prepareWire(encodeResponse({ id: 1, opcode: 0, rd: false, cd: false, questionRaw: q.subarray(12, q.length) }, { rcode: 0, answers: [{ name: 'a.test', type: 'A', ttl: 5, data: '192.0.2.1' }] }, 512, null).wire);
  const first = patchWire(w, 7, true, q, 12 + 8, 0)!;
  const second = patchWire(w, 8, true, q, 12 + 8, 0)!;
  assert.equal(second.length, w.wire.length);
  for (const copy of [second, first]) {
    // The older one too: its spare bytes were allocated with it (forward finishes replies out of order).
    const full = takeOptRoom(copy)!;
    assert.equal(full.length, copy.length + OPT_ROOM);
    assert.equal(full.buffer, copy.buffer);
    assert.equal(full.byteOffset, copy.byteOffset);
    assert.equal(takeOptRoom(copy), null, 'taken once');
  }
  assert.equal(takeOptRoom(Buffer.from(second)), null, 'a buffer not made by allocReply');
  const old = allocReply(3);
  assert.equal(old.length, 3);
  for (let i = 0; i < 64; i++) allocReply(1);
  assert.equal(takeOptRoom(old), null, 'more than 64 allocations ago: forgotten');
});
