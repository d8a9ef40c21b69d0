import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/clock.js';
import { canonicalRdata, signedData, type RrsigFields } from '../../src/dns/dnssec.js';
import { typeNumber, type RR } from '../../src/dns/types.js';
import { loadKey, type ZoneKey } from './keys.js';
import { signReply } from './sign-reply.js';
import { DEFAULT_VALIDITY_S, INCEPTION_SKEW_S, ZoneSigner } from './signer.js';

const testdata = fileURLToPath(new URL('../../../plugins/dnssec/testdata/', import.meta.url));
const keys = async (...names: string[]): Promise<ZoneKey[]> => Promise.all(names.map((n) => loadKey(n, testdata)));
const ZSK13 = 'Kskydns.local.+013+52120';
const KSK13 = 'Kskydns.local.+013+43540';

interface SigData extends Omit<RrsigFields, 'typeCovered' | 'signerName'> { typeCovered: string; signersName: string; signature: Buffer }

/** Verifies an RRSIG over `set` with `key` the way a validator does. */
function verifies(sig: RR, set: RR[], key: ZoneKey): boolean {
  const d = sd(sig);
  const f: RrsigFields = { ...d, typeCovered: typeNumber(d.typeCovered)!, signerName: d.signersName };
  const data = signedData(f, set[0]!.name, 1, set.map(canonicalRdata));
  const pub = createPublicKey(key.privateKey);
  const alg = key.dnskey.algorithm === 15 ? null : 'sha256';
  return verify(alg, data, key.dnskey.algorithm === 13 ? { key: pub, dsaEncoding: 'ieee-p1363' } : pub, d.signature);
}

const sd = (r: RR | undefined): SigData => r!.data as unknown as SigData;
const srv = (name: string, target: string, ttl = 30): RR => ({ name, type: 'SRV', ttl, data: { priority: 10, weight: 100, port: 80, target } });

for (const alg of ['Kskydns.local.+013+52120', 'Kskydns.local.+015+03041', 'Kskydns.local.+008+20143']) {
  test(`an RRset signed with ${alg} verifies; fields as RFC 4034 §3 says`, async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const [k] = await keys(alg);
    const s = new ZoneSigner('skydns.local', [k!], clock, 100);
    const set = [srv('Web.Production.skydns.local', 'b.example'), srv('Web.Production.skydns.local', 'A.example')];
    const [sig] = s.sign(set, 30);
    const d = sd(sig);
    assert.equal(sig!.name, 'Web.Production.skydns.local', 'owner keeps the 0x20 spelling');
    assert.equal(sig!.ttl, 30);
    assert.deepEqual([d.typeCovered, d.labels, d.originalTTL, d.keyTag, d.signersName], ['SRV', 4, 30, k!.tag, 'skydns.local']);
    const now = clock.now() / 1000;
    assert.equal(d.inception, now - INCEPTION_SKEW_S);
    assert.equal(d.expiration, now + DEFAULT_VALIDITY_S);
    assert.ok(verifies(sig!, set, k!));
    assert.ok(verifies(sig!, [set[1]!, set[0]!], k!), 'order of the set does not matter');
    assert.ok(!verifies(sig!, [srv('Web.Production.skydns.local', 'c.example')], k!));
  });
}

test('signature cache: same content is a hit whatever the case or a lower TTL; new content, a higher TTL or near expiry signs again', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), clock, 100);
  const first = s.sign([srv('web.skydns.local', 'a.example')], 30)[0]!;
  s.sign([srv('WEB.skydns.local', 'A.example')], 20);
  assert.deepEqual([s.stats.signatures, s.stats.hits], [1, 1]);
  const again = s.sign([srv('web.skydns.local', 'a.example')], 20)[0]!;
  assert.deepEqual(sd(again).signature, sd(first).signature);
  assert.equal(again.ttl, 20);
  assert.equal(sd(again).originalTTL, 30, 'original TTL of the cached signature');
  s.sign([srv('web.skydns.local', 'b.example')], 30);
  assert.equal(s.stats.signatures, 2, 'new data: new signature');
  s.sign([srv('web.skydns.local', 'a.example')], 60);
  assert.equal(s.stats.signatures, 3, 'TTL above the original TTL: signed again');
  clock.advance(Math.ceil(DEFAULT_VALIDITY_S * 0.75) * 1000);
  const late = s.sign([srv('web.skydns.local', 'a.example')], 60)[0]!;
  assert.equal(s.stats.signatures, 4, 'a quarter of the validity left: signed again');
  assert.equal(sd(late).inception, clock.now() / 1000 - INCEPTION_SKEW_S);
});

test('KSK + ZSK: the DNSKEY RRset is signed by the KSK, everything else by the ZSK; one key alone signs all', async () => {
  const clock = new ManualClock();
  const [zsk, ksk] = await keys(ZSK13, KSK13);
  const s = new ZoneSigner('skydns.local', [zsk!, ksk!], clock, 100);
  const dnskey: RR = { name: 'skydns.local', type: 'DNSKEY', ttl: 3600, data: ksk!.dnskey as unknown as Record<string, unknown> };
  assert.deepEqual(s.sign([dnskey], 3600).map((r) => sd(r).keyTag), [ksk!.tag]);
  assert.deepEqual(s.sign([srv('a.skydns.local', 'x')], 30).map((r) => sd(r).keyTag), [zsk!.tag]);
  const csk = new ZoneSigner('skydns.local', [ksk!], clock, 100);
  assert.deepEqual(csk.sign([srv('a.skydns.local', 'x')], 30).map((r) => sd(r).keyTag), [ksk!.tag]);
});

const SOA: RR = { name: 'skydns.local', type: 'SOA', ttl: 300, data: { mname: 'ns.dns.skydns.local', rname: 'hostmaster.skydns.local', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } };

test('NXDOMAIN becomes NOERROR with a compact-denial NSEC (RRSIG NSEC NXNAME), every set signed', async () => {
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), new ManualClock(), 100);
  const out = signReply({ rcode: 3, flags: { aa: true }, authorities: [SOA] }, { qname: 'NoThing.skydns.local', name: 'nothing.skydns.local', qtype: 1 }, s);
  assert.equal(out.rcode, 0);
  assert.equal(out.flags?.aa, true);
  assert.deepEqual(out.authorities!.map((r) => `${r.name} ${r.ttl} ${r.type}`), [
    'skydns.local 300 SOA', 'skydns.local 300 RRSIG', 'NoThing.skydns.local 30 NSEC', 'NoThing.skydns.local 30 RRSIG',
  ]);
  assert.deepEqual(out.authorities![2]!.data, { nextDomain: '\u0000.nothing.skydns.local', rrtypes: ['RRSIG', 'NSEC', 'UNKNOWN_128'] });
});

test('NODATA: the NSEC bitmap has the zone types minus the one asked, never CNAME, NS only at the apex', async () => {
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), new ManualClock(), 100);
  const nsec = (name: string, qtype: number): string[] => {
    const out = signReply({ rcode: 0, authorities: [SOA] }, { qname: name, name, qtype }, s);
    return (out.authorities!.find((r) => r.type === 'NSEC')!.data as { rrtypes: string[] }).rrtypes;
  };
  assert.deepEqual(nsec('web.skydns.local', 16), ['A', 'PTR', 'AAAA', 'SRV', 'RRSIG', 'NSEC']);
  assert.deepEqual(nsec('web.skydns.local', 1), ['PTR', 'TXT', 'AAAA', 'SRV', 'RRSIG', 'NSEC']);
  assert.deepEqual(nsec('skydns.local', 1), ['NS', 'SOA', 'PTR', 'TXT', 'AAAA', 'SRV', 'RRSIG', 'NSEC', 'DNSKEY']);
});

test('positive answers: one TTL per RRset, RRSIG after each set, records outside the zone unsigned, SERVFAIL untouched', async () => {
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), new ManualClock(), 100);
  const msg = {
    rcode: 0,
    answers: [srv('web.skydns.local', 'a.skydns.local', 30), srv('web.skydns.local', 'host.example.org', 20)],
    additionals: [{ name: 'a.skydns.local', type: 'A', ttl: 30, data: '10.0.0.1' }, { name: 'host.example.org', type: 'A', ttl: 30, data: '10.0.0.2' }],
  };
  const out = signReply(msg, { qname: 'web.skydns.local', name: 'web.skydns.local', qtype: 33 }, s);
  assert.deepEqual(out.answers!.map((r) => `${r.ttl} ${r.type}`), ['20 SRV', '20 SRV', '20 RRSIG']);
  assert.deepEqual(out.additionals!.map((r) => `${r.name} ${r.type}`), ['a.skydns.local A', 'a.skydns.local RRSIG', 'host.example.org A']);
  assert.equal(out.authorities!.length, 0);
  const fail = { rcode: 2 };
  assert.equal(signReply(fail, { qname: 'x.skydns.local', name: 'x.skydns.local', qtype: 1 }, s), fail);
});

test('an NXDOMAIN for the apex itself is denied as NODATA (the apex exists)', async () => {
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), new ManualClock(), 100);
  const out = signReply({ rcode: 3, authorities: [SOA] }, { qname: 'SkyDNS.local', name: 'skydns.local', qtype: 1 }, s);
  assert.equal(out.rcode, 0);
  const nsec = out.authorities!.find((r) => r.type === 'NSEC')!;
  assert.ok(!(nsec.data as { rrtypes: string[] }).rrtypes.includes('UNKNOWN_128'));
  assert.ok((nsec.data as { rrtypes: string[] }).rrtypes.includes('SOA'));
});

test('NXDOMAIN after a CNAME out of the zone is the target\'s: the CNAME is signed, no denial is made', async () => {
  const s = new ZoneSigner('skydns.local', await keys(ZSK13), new ManualClock(), 100);
  const cname: RR = { name: 'db.skydns.local', type: 'CNAME', ttl: 30, data: 'gone.example.org' };
  const out = signReply({ rcode: 3, answers: [cname] }, { qname: 'db.skydns.local', name: 'db.skydns.local', qtype: 1 }, s);
  assert.equal(out.rcode, 3);
  assert.deepEqual(out.answers!.map((r) => r.type), ['CNAME', 'RRSIG']);
  assert.equal(out.authorities!.length, 0);
});
