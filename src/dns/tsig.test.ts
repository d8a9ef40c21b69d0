import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protocolError } from '../server/respond.js';
import { decodeMessage, encodeQuery } from './decode.js';
import { parseQuery } from './query.js';
import { Rcode } from './types.js';

const name = (...labels: string[]): Buffer => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);

/** A TSIG record (RFC 8945 §4.2) as a client sends it: hmac-sha256, a 32-byte MAC. */
function tsigRecord(owner: Buffer, opts: { originalId?: number; macSize?: number; otherLen?: number; algorithm?: Buffer } = {}): Buffer {
  const alg = opts.algorithm ?? name('hmac-sha256');
  const mac = Buffer.alloc(opts.macSize ?? 32, 0xab);
  const fixed = Buffer.alloc(10);
  const rdata = Buffer.concat([
    alg,
    Buffer.from([0x00, 0x00, 0x6b, 0x0e, 0x5a, 0x00]), // time signed
    Buffer.from([0x01, 0x2c]), // fudge 300
    Buffer.from([mac.length >> 8, mac.length & 0xff]),
    mac,
    Buffer.from([(opts.originalId ?? 0x1234) >> 8, (opts.originalId ?? 0x1234) & 0xff]),
    Buffer.from([0, 0]), // error
    Buffer.from([0, opts.otherLen ?? 0]),
  ]);
  fixed.writeUInt16BE(250, 0);
  fixed.writeUInt16BE(255, 2);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

/** A query for skydns.local SOA (with an OPT record when `edns`) with `records` appended to the additional section. */
function query(records: Buffer[], edns = true): Buffer {
  const q = encodeQuery({ id: 0x1234, name: 'skydns.local', type: 'SOA', rd: true, edns: edns ? { udpSize: 1232 } : null });
  const out = Buffer.concat([q, ...records]);
  out.writeUInt16BE(out.readUInt16BE(10) + records.length, 10);
  return out;
}

describe('TSIG in queries (RFC 8945)', () => {
  it('answers a query signed with an unknown key NOTAUTH with an unsigned BADKEY TSIG record, last', () => {
    for (const edns of [true, false]) {
      const raw = query([tsigRecord(name('somekey'))], edns);
      const v = parseQuery(raw);
      assert.equal(v.kind, 'error');
      if (v.kind !== 'error') return;
      assert.equal(v.rcode, Rcode.NOTAUTH);
      assert.match(v.reason, /TSIG key somekey is not known/);
      const { wire, rcode } = protocolError(raw, v, 1232);
      assert.equal(rcode, 9);
      assert.equal(wire.readUInt16BE(0), 0x1234, 'ID');
      assert.equal(wire.readUInt16BE(2) & 0x800f, 0x8009, 'QR, RCODE 9');
      assert.equal(wire.readUInt16BE(2) & 0x0400, 0, 'not authoritative');
      assert.deepEqual([wire.readUInt16BE(4), wire.readUInt16BE(6), wire.readUInt16BE(8), wire.readUInt16BE(10)], [1, 0, 0, edns ? 2 : 1]);
      const expected = Buffer.concat([
        name('somekey'),
        Buffer.from([0x00, 0xfa, 0x00, 0xff, 0, 0, 0, 0, 0x00, 13 + 16]), // TSIG ANY TTL 0, RDLENGTH
        name('hmac-sha256'),
        Buffer.from([0x00, 0x00, 0x6b, 0x0e, 0x5a, 0x00, 0x01, 0x2c]), // time signed and fudge, echoed
        Buffer.from([0x00, 0x00]), // MAC size 0: unsigned (§5.3.2)
        Buffer.from([0x12, 0x34, 0x00, 17, 0x00, 0x00]), // original ID, error BADKEY, no other data
      ]);
      assert.deepEqual(wire.subarray(wire.length - expected.length), expected, 'the TSIG record closes the message');
      // the question is the client's, and the whole reply decodes
      assert.deepEqual(wire.subarray(12, 12 + 18), raw.subarray(12, 12 + 18));
      assert.equal(decodeMessage(wire).rcode, 9);
    }
  });

  it('echoes a compressed key name in full', () => {
    // the key name is "skydns.local" by a pointer to the question name (offset 12)
    const v = parseQuery(query([tsigRecord(Buffer.from([0xc0, 12]))]));
    assert.equal(v.kind === 'error' && v.rcode, Rcode.NOTAUTH);
    if (v.kind !== 'error') return;
    assert.deepEqual(v.query.tsig?.keyName, name('skydns', 'local'));
    assert.equal(v.query.tsig?.keyText, 'skydns.local');
  });

  it('is FORMERR when the TSIG is not last in the additional section, repeated, or unreadable (§5.1)', () => {
    const opt = Buffer.from([0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const cases: [string, Buffer][] = [
      ['before the OPT record', query([tsigRecord(name('k')), opt], false)],
      ['twice', query([tsigRecord(name('k')), tsigRecord(name('k'))])],
      ['MAC longer than the record', (() => {
        const r = tsigRecord(name('k'));
        r.writeUInt16BE(r.readUInt16BE(3 + 8) - 10, 3 + 8); // shorten RDLENGTH (after the 3-byte owner "k")
        return query([r.subarray(0, r.length - 10)]);
      })()],
      ['other data not filling the record', query([tsigRecord(name('k'), { otherLen: 4 })])],
    ];
    for (const [what, raw] of cases) {
      const v = parseQuery(raw);
      assert.equal(v.kind === 'error' && v.rcode, Rcode.FORMERR, what);
    }
    // in the answer section
    const q = encodeQuery({ id: 1, name: 'skydns.local', type: 'SOA', edns: null });
    const inAnswer = Buffer.concat([q, tsigRecord(name('k'))]);
    inAnswer.writeUInt16BE(1, 6);
    const v = parseQuery(inAnswer);
    assert.equal(v.kind === 'error' && v.rcode, Rcode.FORMERR);
  });

  it('keeps the reply within 512 bytes: a key name too long for the TSIG record gets the bare NOTAUTH', () => {
    const long = name('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(60));
    const raw = query([tsigRecord(long, { algorithm: long })]);
    const v = parseQuery(raw);
    assert.equal(v.kind === 'error' && v.rcode, Rcode.NOTAUTH);
    if (v.kind !== 'error') return;
    const { wire } = protocolError(raw, v, 1232);
    assert.ok(wire.length <= 512);
    assert.equal(decodeMessage(wire).rcode, 9);
  });

  it('leaves unsigned queries alone', () => {
    assert.equal(parseQuery(query([])).kind, 'ok');
    assert.equal(parseQuery(query([], false)).kind, 'ok');
  });
});
