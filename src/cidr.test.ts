import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetworkSet, parseCidr, parseIp, prefixKey } from './cidr.js';

const hex = (a: string) => Buffer.from(parseIp(a)!.bytes).toString('hex');

describe('cidr', () => {
  test('parses IPv4, IPv6 (compressed, with an IPv4 tail, with a zone) and IPv4-mapped IPv6', () => {
    assert.equal(hex('192.0.2.1'), 'c0000201');
    assert.equal(hex('2001:db8::1'), '20010db8000000000000000000000001');
    assert.equal(hex('::'), '0'.repeat(32));
    assert.equal(hex('fe80::1%eth0'), 'fe800000000000000000000000000001');
    assert.equal(hex('64:ff9b::192.0.2.33'), '0064ff9b0000000000000000c0000221');
    assert.deepEqual(parseIp('::ffff:192.0.2.1'), { family: 4, bytes: new Uint8Array([192, 0, 2, 1]) });
    for (const bad of ['', '1.2.3', '256.1.1.1', 'example.org', '1:2:3:4:5:6:7:8:9', '01.2.3.4x']) assert.equal(parseIp(bad), null, bad);
  });

  test('parses networks and refuses malformed ones', () => {
    assert.equal(parseCidr('10.0.0.0/8')!.bits, 8);
    assert.equal(parseCidr('192.0.2.7')!.bits, 32);
    assert.equal(parseCidr('2001:db8::/32')!.bits, 32);
    assert.equal(parseCidr('::ffff:10.0.0.0/104')!.bits, 8);
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/x', 'nope/8', '10.0.0.0/8/9']) assert.equal(parseCidr(bad), null, bad);
  });

  test('NetworkSet matches by prefix, family-aware, odd prefix lengths included', () => {
    const s = new NetworkSet(['10.0.0.0/8', '192.0.2.128/25', '2001:db8:abcd::/47', '198.51.100.7']);
    for (const yes of ['10.255.1.2', '192.0.2.200', '2001:db8:abcc::1', '2001:db8:abcd:ffff::1', '198.51.100.7', '::ffff:10.1.1.1']) assert.ok(s.has(yes), yes);
    for (const no of ['11.0.0.1', '192.0.2.127', '2001:db8:abce::1', '198.51.100.8', '::a00:1', 'garbage']) assert.ok(!s.has(no), no);
    assert.ok(new NetworkSet(['0.0.0.0/0']).has('203.0.113.9'));
    assert.ok(!new NetworkSet(['0.0.0.0/0']).has('2001:db8::1'));
    assert.ok(new NetworkSet(['::/0']).has('2001:db8::1'));
    assert.throws(() => new NetworkSet(['10.0.0.0/8', 'bad']), (e: unknown) => e instanceof RangeError && /"bad"/.test(e.message));
  });

  test('prefixKey groups clients by network', () => {
    assert.equal(prefixKey('192.0.2.1', 24, 56), prefixKey('192.0.2.254', 24, 56));
    assert.notEqual(prefixKey('192.0.2.1', 24, 56), prefixKey('192.0.3.1', 24, 56));
    assert.equal(prefixKey('192.0.2.1', 24, 56), '4:c00002/24');
    assert.equal(prefixKey('192.0.2.1', 20, 56), '4:c00000/20');
    assert.equal(prefixKey('2001:db8:0:ab12::1', 24, 56), prefixKey('2001:db8:0:abff::2', 24, 56));
    assert.notEqual(prefixKey('2001:db8:0:ab12::1', 24, 56), prefixKey('2001:db8:0:ac12::1', 24, 56));
    assert.equal(prefixKey('::ffff:192.0.2.9', 24, 56), '4:c00002/24');
    assert.equal(prefixKey('192.0.2.1', 32, 128), '4:c0000201/32');
  });
});
