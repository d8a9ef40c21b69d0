/**
 * IP addresses and networks for the plugins that act on the client's address
 * (acl, ratelimit): parsing to bytes, CIDR sets and client-prefix keys.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports for an IPv4 client) is treated as the IPv4 address it carries.
 */
import { isIP } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Network extends IpAddress {
  /** Prefix length in bits. */
  bits: number;
}

function parseV4(s: string, out: Uint8Array, at: number): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return false;
    out[at + i] = Number(p);
  }
  return true;
}

/** Bytes of an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4); null when not an address. */
export function parseIp(address: string): IpAddress | null {
  const s = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  const fam = isIP(s);
  if (fam === 4) {
    const bytes = new Uint8Array(4);
    return parseV4(s, bytes, 0) ? { family: 4, bytes } : null;
  }
  if (fam !== 6) return null;
  const bytes = new Uint8Array(16);
  let text = s;
  // A dotted IPv4 tail fills the last 32 bits.
  const dot = text.lastIndexOf(':');
  if (text.includes('.')) {
    if (!parseV4(text.slice(dot + 1), bytes, 12)) return null;
    text = `${text.slice(0, dot + 1)}0:0`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const v4tail = s.includes('.') ? bytes.slice(12) : null;
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  });
  if (v4tail) bytes.set(v4tail, 12);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (one host); null when malformed. */
export function parseCidr(cidr: string): Network | null {
  const slash = cidr.indexOf('/');
  const ip = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, bits: max };
  const b = cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(b)) return null;
  // `::ffff:10.0.0.0/104` is the IPv4 network 10.0.0.0/8.
  const v6text = cidr.slice(0, slash).includes(':');
  const bits = ip.family === 4 && v6text ? Number(b) - 96 : Number(b);
  if (bits < 0 || bits > max) return null;
  return { ...ip, bits };
}

/** Whether the first `bits` bits of `a` and `b` (same length) are equal. */
function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

export function inNetwork(ip: IpAddress, net: Network): boolean {
  return ip.family === net.family && samePrefix(ip.bytes, net.bytes, net.bits);
}

/** A set of networks; `has` tells whether an address is in any of them. */
export class NetworkSet {
  readonly networks: readonly Network[];

  /** Throws RangeError naming the first entry that is not a network. */
  constructor(cidrs: readonly string[]) {
    this.networks = cidrs.map((c) => {
      const n = parseCidr(c);
      if (!n) throw new RangeError(`"${c}" is not an IP network (address/prefix, e.g. 10.0.0.0/8 or 2001:db8::/32)`);
      return n;
    });
  }

  get size(): number {
    return this.networks.length;
  }

  has(address: string | IpAddress): boolean {
    const ip = typeof address === 'string' ? parseIp(address) : address;
    if (!ip) return false;
    for (const n of this.networks) if (inNetwork(ip, n)) return true;
    return false;
  }
}

/**
 * The client's network as a short string key: the address cut to `v4bits`
 * (IPv4) or `v6bits` (IPv6), as `4:c0000200/24`. Unparseable addresses key as themselves.
 */
export function prefixKey(address: string, v4bits: number, v6bits: number): string {
  const ip = parseIp(address);
  if (!ip) return `?:${address}`;
  const bits = ip.family === 4 ? v4bits : v6bits;
  let key = `${ip.family}:`;
  for (let i = 0; i < ip.bytes.length && i * 8 < bits; i++) {
    const keep = Math.min(8, bits - i * 8);
    const b = ip.bytes[i]! & ((0xff << (8 - keep)) & 0xff);
    key += b.toString(16).padStart(2, '0');
  }
  return `${key}/${bits}`;
}
