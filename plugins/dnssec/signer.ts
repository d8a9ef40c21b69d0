/**
 * Signs RRsets of one zone, with a cache of signatures.
 *
 * A signature is kept under the RRset's canonical content (owner, type,
 * class, sorted canonical RDATA) and the key's tag: a registry change gives
 * new content and so a new key, so a signature over old data is never served.
 * The TTL is not part of the key: SkyDNS TTLs count down, and RFC 4035 §5.3.3
 * lets a set's TTL be anything up to the RRSIG's original TTL; a set whose
 * TTL has grown past the cached original TTL is signed again.
 *
 * Inception is an hour in the past (clock skew between us and validators),
 * expiration `validity` after now (8 days, as CoreDNS), and a cached
 * signature is replaced once less than a quarter of its validity is left.
 */
import { sign as cryptoSign } from 'node:crypto';
import { lru, type LRU } from 'tiny-lru';
import type { Clock } from '../../src/clock.js';
import { Algorithm, canonicalRdata, rrsigRecord, signatureLabels, signedData, type RrsigFields } from '../../src/dns/dnssec.js';
import { asciiLower } from '../../src/dns/names.js';
import { typeNumber, type RR } from '../../src/dns/types.js';
import type { ZoneKey } from './keys.js';
import type { SignerMetrics } from './metrics.js';

export const INCEPTION_SKEW_S = 3600;
export const DEFAULT_VALIDITY_S = 8 * 24 * 3600;

interface CachedSig {
  fields: RrsigFields;
  signature: Buffer;
  /** Seconds since the epoch after which this signature is made again. */
  refreshAt: number;
}

export interface SignerStats {
  signatures: number;
  hits: number;
  /** Total CPU-side wall time spent in crypto sign calls, ms. */
  signMs: number;
}

/** Signs one buffer with one key, in the RRSIG signature field's format (RFC 6605 r||s for ECDSA). */
export function rawSign(key: ZoneKey, data: Buffer): Buffer {
  switch (key.dnskey.algorithm) {
    case Algorithm.ECDSAP256SHA256:
      return cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case Algorithm.ED25519:
      return cryptoSign(null, data, key.privateKey);
    default:
      return cryptoSign('sha256', data, key.privateKey);
  }
}

export class ZoneSigner {
  readonly stats: SignerStats = { signatures: 0, hits: 0, signMs: 0 };
  private readonly cache: LRU<CachedSig>;
  /** Keys for the DNSKEY RRset (KSKs; every key when there is no KSK/ZSK split). */
  readonly keySigning: ZoneKey[];
  /** Keys for every other RRset (ZSKs; every key when there is no KSK/ZSK split). */
  readonly zoneSigning: ZoneKey[];

  constructor(readonly zone: string, readonly keys: ZoneKey[], private readonly clock: Clock, capacity: number, readonly validity = DEFAULT_VALIDITY_S, private readonly metrics?: SignerMetrics) {
    this.cache = lru<CachedSig>(capacity);
    const ksk = keys.filter((k) => k.ksk);
    const zsk = keys.filter((k) => !k.ksk);
    // One kind only: each key is a combined signing key (CSK) and signs everything.
    this.keySigning = ksk.length && zsk.length ? ksk : keys;
    this.zoneSigning = ksk.length && zsk.length ? zsk : keys;
  }

  /**
   * RRSIGs for one RRset (records of one owner, type and class; all with the
   * TTL `ttl`). The owner keeps the spelling it has in `rrs` (0x20 case); the
   * signature is over the canonical (lowercase) form.
   */
  sign(rrs: RR[], ttl: number): RR[] {
    const first = rrs[0]!;
    const type = typeNumber(first.type)!;
    const classNum = 1;
    const keys = type === 48 ? this.keySigning : this.zoneSigning;
    const rdatas = rrs.map(canonicalRdata);
    const content = `${asciiLower(first.name)}\0${type}\0${rdatas.map((b) => b.toString('base64')).sort().join(',')}`;
    const now = Math.floor(this.clock.now() / 1000);
    const out: RR[] = [];
    for (const key of keys) {
      const ck = `${key.tag}/${key.dnskey.algorithm}\0${content}`;
      let c = this.cache.get(ck);
      if (c && (now >= c.refreshAt || ttl > c.fields.originalTTL || now < c.fields.inception)) c = undefined;
      if (c) {
        this.stats.hits++;
        this.metrics?.hit();
      }
      else {
        c = this.make(key, first.name, type, classNum, rdatas, ttl, now);
        this.cache.set(ck, c);
      }
      out.push(rrsigRecord(first.name, ttl, c.fields, c.signature));
    }
    return out;
  }

  private make(key: ZoneKey, owner: string, type: number, classNum: number, rdatas: Buffer[], ttl: number, now: number): CachedSig {
    const fields: RrsigFields = {
      typeCovered: type,
      algorithm: key.dnskey.algorithm,
      labels: signatureLabels(owner),
      originalTTL: ttl,
      expiration: (now + this.validity) >>> 0,
      inception: (now - INCEPTION_SKEW_S) >>> 0,
      keyTag: key.tag,
      signerName: this.zone,
    };
    const t0 = performance.now();
    const signature = rawSign(key, signedData(fields, owner, classNum, rdatas));
    const ms = performance.now() - t0;
    this.stats.signMs += ms;
    this.stats.signatures++;
    this.metrics?.signed(ms);
    return { fields, signature, refreshAt: now + Math.floor((this.validity * 3) / 4) };
  }

  get cached(): number {
    return this.cache.size;
  }
}
