import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressAnswer, addressAnswerLength, encodeAddressRecords } from './address-answer.js';
import { encodeResponse } from './encode.js';
import { encodeQuery } from './decode.js';
import { parseQuery } from './query.js';
import type { RR } from './types.js';

function query(name: string, type: string, id: number, rd: boolean, cd: boolean) {
  const raw = encodeQuery({ id, name, type, rd, cd, edns: null });
  const v = parseQuery(raw);
  if (v.kind !== 'ok') throw new Error(v.reason);
  return { raw, id, rd, cd, qnameEnd: v.query.qnameEnd, questionEnd: v.query.qnameEnd + 4 };
}

/** What the encoder writes for the same records, in the same order, as the answer to `q`. */
function encoded(q: ReturnType<typeof query>, name: string, type: 'A' | 'AAAA', addrs: string[], ttl: number): Buffer {
  const answers: RR[] = addrs.map((data) => ({ name, type, ttl, data }));
  const h = { id: q.id, opcode: 0, rd: q.rd, cd: q.cd, questionRaw: q.raw.subarray(12, q.questionEnd) };
  return encodeResponse(h, { rcode: 0, flags: { aa: true }, answers }, 65535, null).wire;
}

describe('address answers', () => {
  const v4 = ['10.0.0.1', '10.0.0.2', '192.0.2.77'];
  const v6 = ['2001:db8::1', 'fe80::1:2:3:4'];

  it('are the encoder\'s bytes for every starting record, A and AAAA, any spelling and flags', () => {
    for (const [type, addrs, size] of [['A', v4, 16], ['AAAA', v6, 28]] as const) {
      const r = encodeAddressRecords(type === 'A' ? 1 : 28, addrs);
      assert.equal(r.size, size);
      assert.equal(r.records.length, size * addrs.length);
      for (const [name, id, rd, cd] of [['web.production.skydns.local', 1, true, false], ['WeB.Production.SKYDNS.local', 65535, false, true]] as const) {
        const q = query(name, type, id, rd, cd);
        for (let start = 0; start < addrs.length; start++) {
          const ttl = 30 + start;
          const got = addressAnswer(r, q, start, ttl);
          const rotated = [...addrs.slice(start), ...addrs.slice(0, start)];
          assert.equal(got.toString('hex'), encoded(q, name, type, rotated, ttl).toString('hex'), `${type} ${name} start ${start}`);
          assert.equal(got.length, addressAnswerLength(r, q.qnameEnd));
        }
      }
    }
  });

  it('writes the TTL into the kept records only when it changes, and clamps it as the encoder does', () => {
    const r = encodeAddressRecords(1, v4);
    const q = query('a.skydns.local', 'A', 7, true, false);
    addressAnswer(r, q, 0, 60);
    assert.equal(r.ttl, 60);
    assert.equal(r.records.readUInt32BE(16 + 6), 60);
    const huge = addressAnswer(r, q, 1, 2 ** 40);
    assert.equal(huge.readUInt32BE(q.qnameEnd + 4 + 6), 0x7fffffff);
    const neg = addressAnswer(r, q, 2, -5);
    assert.equal(neg.readUInt32BE(q.qnameEnd + 4 + 6), 0);
  });

  it('refuses an address of the other family', () => {
    assert.throws(() => encodeAddressRecords(1, ['2001:db8::1']), RangeError);
  });
});
