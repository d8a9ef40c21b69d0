import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeResponse } from '../../src/dns/encode.js';
import type { Message } from '../../src/dns/types.js';
import type { Reply } from '../../src/plugin.js';
import { runPlugin, setupPlugin } from '../../src/testing/harness.js';
import { isSkyError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import dnssec from './index.js';

const baseDir = fileURLToPath(new URL('../../../plugins/dnssec/testdata/', import.meta.url));
const KSK = 'Kskydns.local.+013+43540';
const ZSK = 'Kskydns.local.+013+52120';
const DO = { edns: { udpSize: 1232, do: true } };
const SOA = { name: 'skydns.local', type: 'SOA', ttl: 300, data: { mname: 'ns.dns.skydns.local', rname: 'hostmaster.skydns.local', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } };
const answer: Message = { rcode: 0, flags: { aa: true }, answers: [{ name: 'web.skydns.local', type: 'A', ttl: 30, data: '10.0.0.1' }] };
const plugin = () => setupPlugin(dnssec, { keys: [KSK, ZSK] }, { baseDir });

test('DO=0, other zones and other classes pass through: the very reply of the rest of the chain', async () => {
  const p = await plugin();
  const reply: Reply = { msg: answer, by: 'skydns' };
  for (const q of [{ name: 'web.skydns.local', type: 'A' }, { name: 'web.skydns.local', type: 'A', edns: { udpSize: 1232, do: false } }, { name: 'example.org', type: 'A', ...DO }]) {
    const r = await runPlugin(p, q, () => reply);
    assert.equal(r.reply.by, 'skydns');
    assert.equal((r.reply as { msg: Message }).msg, answer, JSON.stringify(q));
  }
});

test('DO=1: the answer is signed by the ZSK, a wire reply too, keeping by and depends', async () => {
  const p = await plugin();
  const depends = { on: { version: 3 }, version: 3 };
  const { wire } = encodeResponse({ id: 1, opcode: 0, rd: true, cd: false, question: { name: 'WEB.skydns.local', type: 1, class: 1 } }, answer, 65535, null);
  for (const reply of [{ msg: answer, by: 'skydns', depends }, { wire, by: 'skydns', depends }] as Reply[]) {
    const r = await runPlugin(p, { name: 'WEB.skydns.local', type: 'A', ...DO }, () => reply);
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.answer.length, 2);
    assert.match(r.answer[1]!, /RRSIG A 13 3 30 \d+ \d+ 52120 skydns\.local\./);
    assert.equal(r.reply.by, 'skydns');
    assert.equal((r.reply as { depends?: unknown }).depends, depends);
  }
});

test('DNSKEY at the apex: both keys; with DO=1 signed by the KSK only', async () => {
  const p = await plugin();
  const plain = await runPlugin(p, { name: 'skydns.local', type: 'DNSKEY' }, () => assert.fail('not passed on'));
  assert.deepEqual(plain.answer.map((l) => l.split(' ').slice(3, 5).join(' ')), ['DNSKEY 257', 'DNSKEY 256']);
  assert.equal(plain.msg!.flags.aa, true);
  const signed = await runPlugin(p, { name: 'SkyDNS.local', type: 'DNSKEY', ...DO }, () => assert.fail('not passed on'));
  assert.equal(signed.answer.length, 3);
  assert.match(signed.answer[2]!, /^SkyDNS\.local\. 3600 IN RRSIG DNSKEY 13 2 3600 \d+ \d+ 43540 skydns\.local\./);
  // DNSKEY below the apex is not ours to answer
  const below = await runPlugin(p, { name: 'web.skydns.local', type: 'DNSKEY', ...DO }, () => ({ msg: { rcode: 0, authorities: [SOA] } }));
  assert.ok(below.ns.some((l) => / NSEC \\000\.web\.skydns\.local\. /.test(l)), below.ns.join('\n'));
});

test('a reply that cannot be signed is an error (the server answers SERVFAIL), never half signed', async () => {
  const p = await plugin();
  const bad: Message = { rcode: 0, answers: [{ name: 'web.skydns.local', type: 'NOSUCHTYPE', ttl: 30, data: 'x' }] };
  const r = await runPlugin(p, { name: 'web.skydns.local', type: 'A', ...DO }, () => ({ msg: bad }));
  assert.equal(r.rcode, 'SERVFAIL');
});

test('setup: a key for another zone than `zones`, or a zone without a key, is refused', async () => {
  await assert.rejects(setupPlugin(dnssec, { zones: ['example.org'], keys: [KSK] }, { baseDir }), (e) => isSkyError(e, 'SKY_ERR_DNSSEC_KEY_MISMATCH'));
  await assert.rejects(setupPlugin(dnssec, { zones: ['skydns.local', 'example.org'], keys: [KSK] }, { baseDir }), (e) => isSkyError(e, 'SKY_ERR_DNSSEC_NO_KEY'));
  // an ECDSA KSK and ZSK plus an Ed25519 ZSK: no Ed25519 key would sign the DNSKEY set
  await assert.rejects(setupPlugin(dnssec, { keys: [KSK, ZSK, 'Kskydns.local.+015+03041'] }, { baseDir }), (e) => isSkyError(e, 'SKY_ERR_DNSSEC_NO_KEY'));
  await setupPlugin(dnssec, { keys: ['Kskydns.local.+015+03041', 'Kskydns.local.+008+20143'] }, { baseDir });
});

test('a reply cut in the additional section keeps whole signed sets: never an A without its RRSIG', async () => {
  const p = await plugin();
  const reply: Message = {
    rcode: 0,
    flags: { aa: true },
    answers: Array.from({ length: 6 }, (_, i) => ({ name: 'web.skydns.local', type: 'SRV', ttl: 30, data: { priority: 10, weight: 10, port: 80, target: `u${i}.skydns.local` } })),
    additionals: Array.from({ length: 6 }, (_, i) => ({ name: `u${i}.skydns.local`, type: 'A', ttl: 30, data: `10.0.0.${i + 1}` })),
  };
  let splitWouldHappen = false;
  for (let size = 512; size <= 1400; size += 9) {
    const r = await runPlugin(p, { name: 'web.skydns.local', type: 'SRV', edns: { udpSize: size, do: true } }, () => ({ msg: reply }));
    assert.equal(r.msg!.flags.tc, false, `size ${size}`);
    assert.ok(r.wire!.length <= size);
    const extra = r.msg!.additionals!;
    const types = extra.map((x) => x.type).join(' ');
    assert.match(types, /^(A RRSIG ?)*$/, `size ${size}: ${types}`);
    // what the plain encoder would have sent: the same answers, the additional section cut anywhere
    const naive = r.msg!.answers!.length === 7 && extra.length < 12;
    if (naive && (size - r.wire!.length) > 40) splitWouldHappen = true;
  }
  assert.ok(splitWouldHappen, 'some size has room for an A but not its RRSIG');
});

test('metrics: signatures made and signature cache hits', async () => {
  const metrics = new Metrics();
  const p = await setupPlugin(dnssec, { keys: [ZSK] }, { baseDir, metrics });
  for (let i = 0; i < 3; i++) await runPlugin(p, { name: 'web.skydns.local', type: 'A', ...DO }, () => ({ msg: answer }));
  const text = await metrics.scrape();
  assert.match(text, /^skydns_dnssec_signatures_total 1$/m);
  assert.match(text, /^skydns_dnssec_signature_cache_hits_total 2$/m);
  assert.match(text, /^skydns_dnssec_signing_seconds_total \d/m);
});
