/**
 * Asks this server's own DNS listener, over TCP on loopback, what it answers
 * for a name: the catalog shows the answers the whole chain gives right now
 * (skydns, synth, cache, acl included), not a re-computation of them.
 */
import net from 'node:net';
import { decodeMessage, encodeQuery, formatRR, rcodeName } from '../../src/dns/index.js';
import { parseHostPort } from '../../src/server/address.js';

export interface DnsAnswer {
  name: string;
  type: string;
  rcode: string;
  answers: string[];
  additionals: string[];
}

/** The loopback address to query for a bound "host:port" (a wildcard bind is asked on loopback). */
export function loopbackOf(bound: string): { host: string; port: number } {
  const hp = parseHostPort(bound, 'dns.listen');
  const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host === '::' ? '::1' : hp.host;
  return { host, port: hp.port };
}

/** One query over TCP; rejects after `timeoutMs`. */
export function askDns(server: { host: string; port: number }, name: string, type: string, timeoutMs = 2000): Promise<DnsAnswer> {
  const id = Math.floor(Math.random() * 65536);
  const q = encodeQuery({ id, name, type, rd: false });
  return new Promise((resolve, reject) => {
    const sock = net.connect(server);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no DNS answer for ${name} ${type} within ${timeoutMs} ms`)), timeoutMs);
    function finish(r: Error | Buffer): void {
      clearTimeout(timer);
      sock.destroy();
      if (r instanceof Error) return reject(r);
      try {
        const m = decodeMessage(r);
        resolve({
          name,
          type,
          rcode: rcodeName(m.rcode),
          answers: (m.answers ?? []).map(formatRR),
          additionals: (m.additionals ?? []).filter((rr) => rr.type !== 'OPT').map(formatRR),
        });
      } catch (e) {
        reject(e as Error);
      }
    }
    sock.on('connect', () => {
      const frame = Buffer.alloc(2 + q.length);
      frame.writeUInt16BE(q.length, 0);
      q.copy(frame, 2);
      sock.write(frame);
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('error', (e) => finish(e));
  });
}
