/**
 * How the etcd backend lays out its keys and values under the prefix:
 *
 *   {prefix}/services/{uuid}     {"service": {...}, "expiresAt": ms|null, "gen": "..."}
 *   {prefix}/callbacks/{uuid}    the callback's JSON
 *   {prefix}/election/callbacks/{lease}   one key per node in the callback election
 *
 * UUIDs are lowercased (they are DNS labels). `expiresAt` is absolute (null for
 * NoExpire): every node hides the record once it has passed, whatever the
 * lease does. `gen` is fixed at registration and kept by heartbeats, so a
 * watcher can tell a refresh from a new registration that replaced an expired
 * one. Values are re-validated when read: the prefix is shared with whatever
 * else can write to etcd.
 */
import { uuidKey, validateCallback, validateService } from './names.js';
import { storedService, type Callback, type StoredService } from './types.js';

export interface KeyLayout {
  /** The prefix itself, with no trailing slash (`/skydns`). */
  root: string;
  services: string;
  callbacks: string;
  /** Keys of the callback election's candidates. */
  election: string;
}

/** `/skydns`, `skydns/` and `/skydns/` all mean the keys under `/skydns/`. */
export function keyLayout(prefix: string): KeyLayout {
  const root = '/' + prefix.replace(/^\/+|\/+$/g, '');
  return { root, services: `${root}/services/`, callbacks: `${root}/callbacks/`, election: `${root}/election/callbacks/` };
}

export const serviceKey = (k: KeyLayout, uuid: string): string => k.services + uuidKey(uuid);
export const callbackKey = (k: KeyLayout, id: string): string => k.callbacks + uuidKey(id);

/** A service as the mirror holds it: the record plus what the write path needs. */
export interface ServiceEntry {
  rec: StoredService;
  gen: string;
  /** mod_revision of the key (what a compare-and-swap names). */
  mod: number;
  /** Lease ID ('0' when none). */
  lease: string;
  /** The exact stored value (to recognise a write of our own after an ambiguous failure). */
  raw: string;
}

export function encodeService(rec: StoredService, gen: string): string {
  const { expiresAt, ...service } = rec;
  return JSON.stringify({ service, expiresAt: expiresAt === Infinity ? null : expiresAt, gen });
}

/** Lax bounds on read: another node may run with other ttlMin/ttlMax settings. */
const READ_BOUNDS = { ttlMin: 0, ttlMax: Number.MAX_SAFE_INTEGER };

/** The stored service, or undefined when the value is not one of ours. */
export function decodeService(raw: string, zone?: string): { rec: StoredService; gen: string } | undefined {
  try {
    const o = JSON.parse(raw) as { service?: unknown; expiresAt?: unknown; gen?: unknown };
    const svc = validateService(o.service, { ...READ_BOUNDS, zone });
    const exp = o.expiresAt;
    if (typeof o.gen !== 'string') return undefined;
    if (exp === null) return svc.NoExpire ? { rec: storedService(svc, Infinity), gen: o.gen } : undefined;
    if (typeof exp !== 'number' || !Number.isFinite(exp) || svc.NoExpire) return undefined;
    return { rec: storedService(svc, exp), gen: o.gen };
  } catch {
    return undefined;
  }
}

export function decodeCallback(raw: string): Callback | undefined {
  try {
    return Object.freeze(validateCallback(JSON.parse(raw)));
  } catch {
    return undefined;
  }
}

/** Buffer → string key/value helpers for etcd's byte strings. */
export const text = (b: Buffer | undefined): string => (b ? b.toString('utf8') : '');
