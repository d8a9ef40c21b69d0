/**
 * The wire fuzzer's driver: runs the checks in a worker thread and watches it.
 * A worker that makes no progress for `hangMs` is a hang: the input it is stuck
 * on is read from shared memory, the worker is terminated and a new one
 * resumes after that input. Used by test/fuzz (short) and bench/fuzz.mjs (long).
 */
import { Worker } from 'node:worker_threads';
import { MAX_INPUT, type WorkerDone, type WorkerFailure, type WireWorkerData } from './wire-shared.js';

export interface WireFuzzOptions {
  seed: number;
  inputs: number;
  /** No progress for this long is a hang (default 5000 ms). */
  hangMs?: number;
  /** Stop after this many hangs (default 5). */
  maxHangs?: number;
  /** Called about every `progressMs` with the inputs checked so far. */
  onProgress?: (checked: number) => void;
  progressMs?: number;
}

export interface WireFuzzResult {
  seed: number;
  inputs: number;
  checked: number;
  /** Failures reported in detail (the first per worker run), and the total count. */
  failures: WorkerFailure[];
  failed: number;
  hangs: { index: number; hex: string }[];
  slowestMs: number;
  slowestHex: string;
  ms: number;
}

export function runWireFuzz(o: WireFuzzOptions): Promise<WireFuzzResult> {
  const hangMs = o.hangMs ?? 5000;
  const maxHangs = o.maxHangs ?? 5;
  const shared = new SharedArrayBuffer(8 + MAX_INPUT);
  const state = new Int32Array(shared, 0, 2);
  const bytes = new Uint8Array(shared, 8, MAX_INPUT);
  const res: WireFuzzResult = { seed: o.seed, inputs: o.inputs, checked: 0, failures: [], failed: 0, hangs: [], slowestMs: 0, slowestHex: '', ms: 0 };
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const launch = (skip: number) => {
      Atomics.store(state, 0, skip - 1);
      const data: WireWorkerData = { seed: o.seed, count: o.inputs, skip, shared };
      const worker = new Worker(new URL('./wire-worker.js', import.meta.url), { workerData: data });
      let lastIndex = -2;
      let lastMove = Date.now();
      let lastProgress = Date.now();
      let settled = false;
      let reported = 0;
      const watchdog = setInterval(() => {
        const i = Atomics.load(state, 0);
        const now = Date.now();
        if (i !== lastIndex) {
          lastIndex = i;
          lastMove = now;
        }
        if (o.onProgress && now - lastProgress >= (o.progressMs ?? 5000)) {
          lastProgress = now;
          o.onProgress(Math.max(0, i - skip + 1) + res.checked);
        }
        if (now - lastMove < hangMs || settled) return;
        settled = true;
        clearInterval(watchdog);
        const n = Atomics.load(state, 1);
        res.hangs.push({ index: i, hex: Buffer.from(bytes.subarray(0, n)).toString('hex') });
        res.checked += Math.max(0, i - skip + 1);
        res.failed += reported; // a terminated worker's count: those it reported
        void worker.terminate();
        if (res.hangs.length >= maxHangs || i + 1 >= o.inputs) finish();
        else launch(i + 1);
      }, 100);
      worker.on('message', (m: WorkerFailure | WorkerDone) => {
        if (m.kind === 'failure') {
          res.failures.push(m);
          reported++;
        } else {
          settled = true;
          clearInterval(watchdog);
          res.checked += m.checked;
          res.failed += m.failed;
          if (m.slowestMs > res.slowestMs) {
            res.slowestMs = m.slowestMs;
            res.slowestHex = m.slowestHex;
          }
          void worker.terminate().then(finish);
        }
      });
      worker.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        reject(err);
      });
    };
    const finish = () => {
      res.ms = Date.now() - t0;
      resolve(res);
    };
    launch(0);
  });
}
