/**
 * The registry protocol between the primary of a `workers` group (which owns
 * the one real registry) and its workers (which mirror it): message shapes
 * and the encodings that survive any carrier (JSON over process IPC keeps no
 * `Infinity` and no Error class, so both are spelled out).
 *
 *   worker → primary   { op: 'hello' }                      subscribe; answered by a snapshot
 *                      { op: <write>, id, args }            put, refresh, remove, putCallback, removeCallback, flush
 *                      { op: 'bye' }                        unsubscribe (the worker closed its registry)
 *   primary → worker   { op: 'snapshot', seq, state, services }
 *                      { op: 'event', seq, version, kind, service }    one committed change, in commit order
 *                      { op: 'state', seq, state }          version / readiness / callbacks moved without an event
 *                      { op: 'reply', id, seq, ok, value | error }
 *
 * `seq` numbers every message the primary sends on one channel; a reply
 * carries the seq of the last message sent before it, so a worker resolves a
 * write only once it has applied everything up to the write's own events.
 */
import { SkyError, ERRORS, type ErrorCode } from '../errors.js';
import { storedService, type Callback, type RegistryEventKind, type Staleness, type StoredService } from './types.js';

export const REGISTRY_PROTOCOL = 'registry';

export type WriteOp = 'put' | 'refresh' | 'remove' | 'putCallback' | 'removeCallback' | 'flush';
export const WRITE_OPS: readonly WriteOp[] = ['put', 'refresh', 'remove', 'putCallback', 'removeCallback', 'flush'];

/** A StoredService with `expiresAt: null` for NoExpire (Infinity). */
export type WireService = Omit<StoredService, 'expiresAt'> & { expiresAt: number | null };

export interface WireState {
  version: number;
  ready: boolean;
  callbacks: Callback[];
  /** The primary's registry mirrors a cluster (etcd): how current its copy is (freshness.ts). */
  staleness?: Staleness;
}

export interface WireError {
  code: string;
  message: string;
  path?: string;
}

export type ToWorker =
  | { sky: 'registry'; op: 'snapshot'; seq: number; state: WireState; services: WireService[] }
  | { sky: 'registry'; op: 'event'; seq: number; version: number; kind: RegistryEventKind; service: WireService }
  | { sky: 'registry'; op: 'state'; seq: number; state: WireState }
  | { sky: 'registry'; op: 'reply'; id: number; seq: number; ok: true; value: unknown }
  | { sky: 'registry'; op: 'reply'; id: number; seq: number; ok: false; error: WireError };

export type ToPrimary =
  | { sky: 'registry'; op: 'hello' }
  | { sky: 'registry'; op: 'bye' }
  | { sky: 'registry'; op: WriteOp; id: number; args: unknown[] };

export function toWire(s: StoredService): WireService {
  return { ...s, expiresAt: s.expiresAt === Infinity ? null : s.expiresAt };
}

export function fromWire(w: WireService): StoredService {
  return storedService(w, w.expiresAt ?? Infinity);
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof SkyError) return { code: err.code, message: err.message, ...(err.path !== undefined ? { path: err.path } : {}) };
  return { code: 'SKY_ERR_REGISTRY_UNAVAILABLE', message: `the primary's registry failed: ${(err as Error)?.message ?? String(err)}` };
}

export function errorFromWire(w: WireError): SkyError {
  const code: ErrorCode = w.code in ERRORS ? (w.code as ErrorCode) : 'SKY_ERR_REGISTRY_UNAVAILABLE';
  return new SkyError(code, w.message, w.path !== undefined ? { path: w.path } : {});
}
