/** Messages and shared-memory layout between the wire fuzzer and its worker. */
import type { Failure } from './wire-checks.js';

/** Inputs are never longer than this (the mutator stays far below it). */
export const MAX_INPUT = 65536;

/** Failures a worker reports in detail; past that it only counts them. */
export const MAX_REPORTED = 100;

export interface WireWorkerData {
  seed: number;
  count: number;
  /** Inputs before this index are generated (to keep the sequence) but not checked. */
  skip: number;
  shared: SharedArrayBuffer;
}

export interface WorkerFailure extends Failure {
  kind: 'failure';
  index: number;
  hex: string;
}

export interface WorkerDone {
  kind: 'done';
  checked: number;
  /** Every failure, including those not reported in detail. */
  failed: number;
  slowestMs: number;
  slowestHex: string;
}
