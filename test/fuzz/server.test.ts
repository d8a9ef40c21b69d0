/**
 * Short fuzz run through a whole server (skydns + synth over a registry with
 * services) over UDP and TCP on 127.0.0.1: every reply well-formed, none
 * missing or extra, the sentinel name always answered, no plugin failure
 * logged, and nothing left in flight afterwards.
 * SKYDNS_FUZZ_SEED / SKYDNS_FUZZ_SERVER_INPUTS override the seed and the count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fuzzServer } from './server-fuzz.js';
import { startFuzzTarget, type FuzzTarget } from './target.js';

const SEED = Number(process.env.SKYDNS_FUZZ_SEED ?? 20260101);
const INPUTS = Number(process.env.SKYDNS_FUZZ_SERVER_INPUTS ?? 5000);

describe('server fuzz', () => {
  let t: FuzzTarget;
  before(async () => {
    t = await startFuzzTarget();
  });
  after(() => t.stop());

  for (const transport of ['udp', 'tcp'] as const) {
    test(`${INPUTS} mutated queries over ${transport} (seed ${SEED})`, async () => {
      const r = await fuzzServer({ host: '127.0.0.1', port: t.srv.port, seed: SEED, inputs: INPUTS, transport });
      assert.deepEqual(r.problems.slice(0, 5), [], 'malformed, missing or extra replies');
      assert.equal(r.missing, 0);
      assert.equal(r.unexpected, 0);
      assert.equal(r.replies, r.expected);
      assert.ok(r.expected > INPUTS / 2, 'most inputs deserve a reply');
      assert.deepEqual(r.sentinelFailures, []);
      assert.ok(r.sentinels >= INPUTS / 250);
      if (transport === 'tcp') assert.ok(r.framingCases > 0);
      assert.deepEqual(t.errors, [], 'error log lines');
      assert.equal(t.srv.app.server.queriesInFlight, 0);
    });
  }
});

describe('server fuzz with acl and ratelimit in front', () => {
  let t: FuzzTarget;
  before(async () => {
    // rules and limits that never bite from 127.0.0.1: every query still deserves its reply
    t = await startFuzzTarget([
      { ratelimit: { responsesPerSecond: 1e6, any: 'pass' } },
      { acl: { blocks: [{ zones: ['skydns.local', 'in-addr.arpa'], rules: [{ action: 'refuse', net: ['10.0.0.0/8'] }, { action: 'drop', net: ['192.0.2.0/24', '2001:db8::/32'], type: ['ANY', 'AXFR'] }] }] } },
    ]);
  });
  after(() => t.stop());

  test(`${Math.ceil(INPUTS / 2)} mutated queries over udp (seed ${SEED + 1})`, async () => {
    const r = await fuzzServer({ host: '127.0.0.1', port: t.srv.port, seed: SEED + 1, inputs: Math.ceil(INPUTS / 2), transport: 'udp' });
    assert.deepEqual(r.problems.slice(0, 5), []);
    assert.equal(r.replies, r.expected);
    assert.deepEqual(r.sentinelFailures, []);
    assert.deepEqual(t.errors, []);
  });
});
