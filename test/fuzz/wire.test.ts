/**
 * Short fuzz run of the wire layer (a few seconds; bench/fuzz.mjs is the long
 * run), the checks' own sanity, and regressions found by fuzzing.
 * SKYDNS_FUZZ_SEED / SKYDNS_FUZZ_INPUTS override the seed and the input count.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMessage, encodeQuery } from '../../src/dns/decode.js';
import { parseQuery } from '../../src/dns/query.js';
import { isSkyError } from '../../src/errors.js';
import { buildCorpus } from './corpus.js';
import { Mutator } from './mutate.js';
import { checkInput, replyProblems } from './wire-checks.js';
import { runWireFuzz } from './wire-fuzz.js';

const SEED = Number(process.env.SKYDNS_FUZZ_SEED ?? 20260101);
const INPUTS = Number(process.env.SKYDNS_FUZZ_INPUTS ?? 25000);

describe('wire fuzz', () => {
  test('the corpus is valid queries, and passes every check', () => {
    const corpus = buildCorpus();
    assert.ok(corpus.length > 90);
    const kinds = corpus.map((p) => parseQuery(p).kind);
    assert.ok(kinds.filter((k) => k === 'ok').length > 80, 'most of the corpus parses');
    for (const p of corpus) assert.deepEqual(checkInput(p), [], p.toString('hex'));
  });

  test('the mutator is deterministic per seed', () => {
    const a = new Mutator(buildCorpus(), 7);
    const b = new Mutator(buildCorpus(), 7);
    const c = new Mutator(buildCorpus(), 8);
    const seqA = Array.from({ length: 200 }, () => a.next().toString('hex'));
    assert.deepEqual(Array.from({ length: 200 }, () => b.next().toString('hex')), seqA);
    assert.notDeepEqual(Array.from({ length: 200 }, () => c.next().toString('hex')), seqA);
  });

  test('the reply checks catch bad replies', () => {
    const q = encodeQuery({ id: 9, name: 'a.example', type: 'A' });
    const good = Buffer.from(q);
    good[2] = good[2]! | 0x80;
    assert.deepEqual(replyProblems(q, good, { rcode: 0, questionEnd: q.length, maxSize: 512 }), []);
    assert.match(replyProblems(q, q, {}).join(), /QR=0/);
    const otherId = Buffer.from(good);
    otherId.writeUInt16BE(10, 0);
    assert.match(replyProblems(q, otherId, {}).join(), /ID 10/);
    const otherCase = Buffer.from(good);
    otherCase[13] = 0x41; // "A" for "a"
    assert.match(replyProblems(q, otherCase, { questionEnd: q.length }).join(), /echoed/);
    assert.match(replyProblems(q, good, { maxSize: 12 }).join(), /over the client/);
    assert.match(replyProblems(q, good.subarray(0, 20), {}).join(), /does not decode/);
  });

  test('decodeMessage refuses section counts that cannot fit before decoding anything', () => {
    // Found by fuzzing: dns-packet sizes an array by each count before reading, so
    // 0xffff counts in a short packet cost milliseconds of CPU per packet.
    const p = encodeQuery({ id: 1, name: 'a.example', type: 'A' });
    for (const at of [4, 6, 8, 10]) {
      const q = Buffer.from(p);
      q.writeUInt16BE(0xffff, at);
      assert.throws(() => decodeMessage(q), (e: unknown) => isSkyError(e, 'SKY_ERR_WIRE_FORMAT') && e.cause === undefined);
    }
    assert.equal(decodeMessage(p).questions[0]!.name, 'a.example');
  });

  test(`${INPUTS} mutated inputs (seed ${SEED}): no crash, no hang, every check holds`, async () => {
    const r = await runWireFuzz({ seed: SEED, inputs: INPUTS, hangMs: 10_000, maxHangs: 1 });
    assert.deepEqual(r.hangs, [], 'hangs');
    assert.deepEqual(r.failures.slice(0, 5), [], `failures (${r.failed})`);
    assert.equal(r.checked, INPUTS);
  });
});
