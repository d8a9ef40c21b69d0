/**
 * Reverse names (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa) of the
 * services whose Host is an address, for the PTR answers of the reverse zones
 * the plugin is told it holds.
 */
import { isIP } from 'node:net';
import type { Registry, StoredService } from '../../src/registry/types.js';

/** The eight 16-bit groups of an IPv6 address, each as four hex digits. */
export function expandIPv6(ip: string): string[] {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:192.0.2.1) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

/** The reverse name of an address (lowercase, no trailing dot), or null for anything else. */
export function reverseName(ip: string): string | null {
  switch (isIP(ip)) {
    case 4:
      return `${ip.split('.').reverse().map(Number).join('.')}.in-addr.arpa`;
    case 6:
      return `${expandIPv6(ip).join('').split('').reverse().join('.')}.ip6.arpa`;
    default:
      return null;
  }
}

/**
 * Reverse name → services with that address, rebuilt when the registry's
 * version moves. It holds records that may have expired since: readers filter
 * by `expiresAt` at the time of the query.
 */
export class ReverseIndex {
  private map = new Map<string, StoredService[]>();
  private version = NaN;

  constructor(private readonly registry: Registry) {}

  private sync(): Map<string, StoredService[]> {
    if (this.registry.version !== this.version) {
      const map = new Map<string, StoredService[]>();
      for (const s of this.registry.list()) {
        const r = reverseName(s.Host);
        if (r === null) continue;
        const list = map.get(r);
        if (list) list.push(s);
        else map.set(r, [s]);
      }
      this.map = map;
      this.version = this.registry.version;
    }
    return this.map;
  }

  /** Live services whose address has this reverse name. */
  lookup(name: string, now: number): StoredService[] {
    return (this.sync().get(name) ?? []).filter((s) => s.expiresAt > now);
  }

  /** Live services whose reverse name is strictly below `name` (an empty non-terminal). */
  below(name: string, now: number): StoredService[] {
    const suffix = '.' + name;
    const out: StoredService[] = [];
    for (const [r, list] of this.sync()) {
      if (!r.endsWith(suffix)) continue;
      for (const s of list) if (s.expiresAt > now) out.push(s);
    }
    return out;
  }
}
