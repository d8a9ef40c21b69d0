/**
 * Worker side of the wire fuzzer: generates inputs `0..count-1` for a seed,
 * checks inputs from `skip` on, and before each check publishes the input in
 * shared memory so the parent can name the input of a hang and terminate us.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { buildCorpus } from './corpus.js';
import { Mutator } from './mutate.js';
import { checkInput } from './wire-checks.js';
import { MAX_INPUT, MAX_REPORTED, type WorkerDone, type WorkerFailure, type WireWorkerData } from './wire-shared.js';

const { seed, count, skip, shared } = workerData as WireWorkerData;
const state = new Int32Array(shared, 0, 2); // [index being checked, its length]
const bytes = new Uint8Array(shared, 8, MAX_INPUT);
const mutator = new Mutator(buildCorpus(), seed);
let slowestMs = 0;
let slowestHex = '';
let checked = 0;
let failed = 0;
for (let i = 0; i < count; i++) {
  const input = mutator.next();
  if (i < skip) continue;
  const n = Math.min(input.length, MAX_INPUT);
  bytes.set(input.subarray(0, n));
  Atomics.store(state, 1, n);
  Atomics.store(state, 0, i);
  const t0 = performance.now();
  const failures = checkInput(input);
  const ms = performance.now() - t0;
  checked++;
  if (ms > slowestMs) {
    slowestMs = ms;
    slowestHex = input.toString('hex');
  }
  for (const f of failures) {
    // Details of the first ones; a systematic bug would otherwise flood the parent.
    if (++failed <= MAX_REPORTED) parentPort!.postMessage({ kind: 'failure', index: i, hex: input.toString('hex'), ...f } satisfies WorkerFailure);
  }
}
parentPort!.postMessage({ kind: 'done', checked, failed, slowestMs, slowestHex } satisfies WorkerDone);
