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

/** A name with its labels in reverse order (`10.in-addr.arpa` → `arpa.in-addr.10`): names below one share its key as a prefix. */
function treeKey(name: string): string {
  return name.split('.').reverse().join('.');
}

/**
 * Reverse name → services with that address, rebuilt when the registry's
 * version moves. It holds records that may have expired since: readers filter
 * by `expiresAt` at the time of the query. For the names above registered
 * addresses (empty non-terminals), the reverse names are also kept sorted by
 * their labels from the root down, so the names below any name are one
 * contiguous run, found by binary search: O(log n) per lookup, not a scan.
 */
export class ReverseIndex {
  private map = new Map<string, StoredService[]>();
  /** treeKey of every reverse name in `map`, sorted (built on the first `below` of a version). */
  private sorted: { key: string; services: StoredService[] }[] | null = null;
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
      this.sorted = null;
      this.version = this.registry.version;
    }
    return this.map;
  }

  /** Live services whose address has this reverse name. */
  lookup(name: string, now: number): StoredService[] {
    return (this.sync().get(name) ?? []).filter((s) => s.expiresAt > now);
  }

  /**
   * A live service whose reverse name is strictly below `name` (then `name` is
   * an empty non-terminal), as a one-element list; empty when there is none.
   */
  below(name: string, now: number): StoredService[] {
    const map = this.sync();
    const sorted = (this.sorted ??= [...map].map(([r, services]) => ({ key: treeKey(r), services })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
    const prefix = treeKey(name) + '.';
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.key < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length && sorted[i]!.key.startsWith(prefix); i++) {
      for (const s of sorted[i]!.services) if (s.expiresAt > now) return [s];
    }
    return [];
  }
}
