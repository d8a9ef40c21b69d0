/**
 * Token buckets per client (a network prefix, an address) in a table of
 * bounded size, for the rate limiters: the ratelimit plugin and the api's
 * registration limit. A bucket holds up to `burst` tokens and gains `rate`
 * tokens a second (by the injected clock); each response or request takes one. The table keeps the most recently used
 * buckets: past `maxBuckets` the least recently used one is forgotten, which
 * costs nothing for correctness (a forgotten client starts over with a full
 * bucket, as a new one would) and bounds memory under floods from many
 * (possibly spoofed) prefixes.
 */
import type { Clock } from './clock.js';

interface Bucket {
  tokens: number;
  /** Clock time (ms) `tokens` was computed at. */
  at: number;
  /** Limited responses so far (for slip: every Nth is sent truncated). */
  limited: number;
}

export interface Take {
  ok: boolean;
  /** When not ok: how many responses of this client have been limited, this one included. */
  limited: number;
  /** When not ok: milliseconds until the next token (0 when ok). */
  retryAfterMs: number;
}

export class BucketTable {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly buckets = new Map<string, Bucket>();
  evictions = 0;

  constructor(
    private readonly clock: Clock,
    readonly rate: number,
    readonly burst: number,
    readonly maxBuckets: number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for `key`'s next response. */
  take(key: string): Take {
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      const elapsed = Math.max(0, now - b.at);
      b.tokens = Math.min(this.burst, b.tokens + (elapsed * this.rate) / 1000);
      b.at = now;
    } else {
      b = { tokens: this.burst, at: now, limited: 0 };
      if (this.buckets.size >= this.maxBuckets) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evictions++;
      }
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, limited: b.limited, retryAfterMs: 0 };
    }
    b.limited++;
    return { ok: false, limited: b.limited, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / this.rate) };
  }
}
