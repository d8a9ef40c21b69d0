/**
 * Turns the `to` list into upstream addresses: literal "host:port" entries
 * and the `nameserver` lines of resolv.conf files (resolv.conf(5): port 53,
 * IPv4 or IPv6, `#` and `;` comments, other directives ignored).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { SkyError } from '../../src/errors.js';

export interface UpstreamAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** "host:port" ("[v6]:port"), as logs show it. */
  name: string;
}

export function upstreamName(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function address(host: string, port: number): UpstreamAddress | null {
  if (host === 'localhost') host = '127.0.0.1';
  // A zone index ("fe80::1%eth0") is kept: the socket layer understands it.
  const fam = isIP(host.replace(/%.*$/, ''));
  if (fam === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port, family: fam as 4 | 6, name: upstreamName(host, port) };
}

/** One `to` entry as an address, or null when it is not one (then it is a resolv.conf path). */
export function parseAddress(entry: string): UpstreamAddress | null {
  const s = entry.startsWith('dns://') ? entry.slice(6) : entry;
  let m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (m) return address(m[1]!, m[2] ? Number(m[2]) : 53);
  if (isIP(s.replace(/%.*$/, '')) === 6) return address(s, 53);
  m = /^([^:/]+)(?::(\d{1,5}))?$/.exec(s);
  if (m && (isIP(m[1]!) === 4 || m[1] === 'localhost')) return address(m[1]!, m[2] ? Number(m[2]) : 53);
  return null;
}

/** The nameservers of a resolv.conf text, in order. */
export function parseResolvConf(text: string): UpstreamAddress[] {
  const out: UpstreamAddress[] = [];
  for (const line of text.split('\n')) {
    const words = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (words[0] !== 'nameserver' || !words[1]) continue;
    const a = address(words[1], 53);
    if (a) out.push(a);
  }
  return out;
}

/**
 * Resolves every entry of `to` (paths relative to `baseDir`) into a
 * de-duplicated list of upstreams. Throws SkyError naming the entry.
 */
export function resolveUpstreams(to: readonly string[], baseDir: string, path: string): UpstreamAddress[] {
  const seen = new Map<string, UpstreamAddress>();
  for (const [i, entry] of to.entries()) {
    const at = `${path}.to[${i}]`;
    const a = parseAddress(entry);
    if (a) {
      seen.set(a.name, a);
      continue;
    }
    if (/^[a-z]+:\/\//i.test(entry)) {
      throw new SkyError('SKY_ERR_FORWARD_UPSTREAM', `"${entry}": only plain DNS upstreams (host:port or dns://host:port) are supported`, { path: at });
    }
    const file = isAbsolute(entry) ? entry : resolve(baseDir, entry);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SkyError('SKY_ERR_FORWARD_UPSTREAM', `"${entry}" is neither an IP address (host:port) nor a readable resolv.conf: ${(err as Error).message}`, { path: at, cause: err });
    }
    const list = parseResolvConf(text);
    if (list.length === 0) throw new SkyError('SKY_ERR_FORWARD_RESOLV_CONF', `${file} has no usable "nameserver" line`, { path: at });
    for (const u of list) seen.set(u.name, u);
  }
  return [...seen.values()];
}
