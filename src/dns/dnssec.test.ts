import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalName, canonicalRdata, dnskeyRdata, dsDigestSha256, keyTag, nsecRecord, signatureLabels, signedData } from './dnssec.js';
import { decodeMessage } from './decode.js';
import { encodeResponse } from './encode.js';

test('canonical names are lowercase wire names', () => {
  assert.deepEqual(canonicalName('WeB.Skydns.LOCAL'), Buffer.from('\x03web\x06skydns\x05local\x00', 'latin1'));
  assert.deepEqual(canonicalName('.'), Buffer.from([0]));
  assert.deepEqual(canonicalName('\\000.a'), Buffer.from([1, 0, 1, 0x61, 0]));
});

test('RRSIG labels: the root and a leading "*" are not counted (RFC 4034 §3.1.3)', () => {
  assert.equal(signatureLabels('web.production.skydns.local'), 4);
  assert.equal(signatureLabels('*.production.skydns.local'), 3);
  assert.equal(signatureLabels('any.production.skydns.local'), 4);
  assert.equal(signatureLabels('skydns.local'), 2);
});

test('canonical RDATA lowercases the names inside SRV, SOA, MX, CNAME but not TXT', () => {
  const srv = canonicalRdata({ name: 'x', type: 'SRV', ttl: 1, data: { priority: 10, weight: 50, port: 80, target: 'Web1.Example' } });
  assert.deepEqual(srv, Buffer.concat([Buffer.from([0, 10, 0, 50, 0, 80]), canonicalName('web1.example')]));
  const cname = canonicalRdata({ name: 'x', type: 'CNAME', ttl: 1, data: 'A.B' });
  assert.deepEqual(cname, canonicalName('a.b'));
  const mx = canonicalRdata({ name: 'x', type: 'MX', ttl: 1, data: { preference: 5, exchange: 'Mail.X' } });
  assert.deepEqual(mx, Buffer.concat([Buffer.from([0, 5]), canonicalName('mail.x')]));
  const soa = canonicalRdata({ name: 'x', type: 'SOA', ttl: 1, data: { mname: 'NS.X', rname: 'Host.X', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } });
  assert.deepEqual(soa.subarray(0, 12), Buffer.concat([canonicalName('ns.x'), canonicalName('host.x')]).subarray(0, 12));
  const txt = canonicalRdata({ name: 'x', type: 'TXT', ttl: 1, data: ['Hi'] });
  assert.deepEqual(txt, Buffer.from('\x02Hi', 'latin1'));
  assert.deepEqual(canonicalRdata({ name: 'x', type: 'A', ttl: 1, data: '10.0.0.1' }), Buffer.from([10, 0, 0, 1]));
});

test('signed data: RRSIG fields, then the set sorted by RDATA, duplicates once, owner lowercase', () => {
  const f = { typeCovered: 1, algorithm: 13, labels: 2, originalTTL: 30, expiration: 2000, inception: 1000, keyTag: 7, signerName: 'Zone.Test' };
  const a = Buffer.from([10, 0, 0, 2]);
  const b = Buffer.from([10, 0, 0, 1]);
  const d = signedData(f, 'WWW.zone.test', 1, [a, b, a]);
  const head = Buffer.from([0, 1, 13, 2, 0, 0, 0, 30, 0, 0, 7, 208, 0, 0, 3, 232, 0, 7]);
  const owner = canonicalName('www.zone.test');
  const rr = (rd: Buffer) => Buffer.concat([owner, Buffer.from([0, 1, 0, 1, 0, 0, 0, 30, 0, 4]), rd]);
  assert.deepEqual(d, Buffer.concat([head, canonicalName('zone.test'), rr(b), rr(a)]));
});

test('key tag and DS digest of a DNSKEY (RFC 4034 Appendix B, RFC 4509), as dnssec-keygen and dnssec-dsfromkey compute them', () => {
  // plugins/dnssec/testdata/Kskydns.local.+013+43540.key; `dnssec-dsfromkey -2` of it gives the digest below.
  const key = Buffer.from('QAmyXn7SWOIw0wKtnfWpbRP7ueOOuOSs5yvdRECSJIYPu1V8RMRw3KG/vwpUL1yRQzi3ZujHLeWOMN/bm3+u/Q==', 'base64');
  const rd = dnskeyRdata({ flags: 257, algorithm: 13, key });
  assert.deepEqual(rd.subarray(0, 4), Buffer.from([1, 1, 3, 13]));
  assert.equal(keyTag(rd), 43540);
  assert.equal(dsDigestSha256('Skydns.Local', rd).toString('hex').toUpperCase(), '6D1273AD00A9667AE93A8E3A7BB3D5BD0C6B6C3FA32486DB3F04B60D78AF1187');
});

test('an NSEC with a \\000 next name and NXNAME encodes and decodes', () => {
  const rr = nsecRecord('Nothing.skydns.local', 30, '\\000.nothing.skydns.local', [47, 46, 128]);
  const { wire } = encodeResponse({ id: 1, opcode: 0, rd: false, cd: false }, { rcode: 0, authorities: [rr] }, 512, null);
  const m = decodeMessage(wire);
  const d = m.authorities![0]!.data as { nextDomain: string; rrtypes: string[] };
  assert.equal(d.nextDomain, '\u0000.nothing.skydns.local');
  assert.deepEqual(d.rrtypes, ['RRSIG', 'NSEC', 'UNKNOWN_128']);
  // next name on the wire: a one-byte label holding 0, then the query name
  const at = wire.indexOf(Buffer.from([1, 0, 7]));
  assert.ok(at > 0);
});
