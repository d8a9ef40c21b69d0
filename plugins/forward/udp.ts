/**
 * One query over UDP. Each query gets its own socket, so its own kernel-chosen
 * ephemeral source port (RFC 5452 §9.2). The socket is connected to the
 * upstream: the kernel then only delivers datagrams from that address and
 * port, and an ICMP port-unreachable surfaces as ECONNREFUSED at once instead
 * of a timeout. Datagrams that still do not match (source, ID, question) are
 * discarded and the wait goes on until the deadline.
 */
import dgram from 'node:dgram';
import type { Clock } from '../../src/clock.js';
import { replyMatches } from './message.js';
import type { UpstreamAddress } from './upstreams.js';

export type FailureKind = 'timeout' | 'network' | 'malformed' | 'aborted';

export class UpstreamError extends Error {
  constructor(readonly kind: FailureKind, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'UpstreamError';
  }
}

export interface ExchangeOptions {
  clock: Clock;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called for every reply discarded as not ours (spoofing, stale, or malformed). */
  onDiscard?: (why: string) => void;
}

export function exchangeUdp(up: UpstreamAddress, query: Buffer, o: ExchangeOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) return reject(new UpstreamError('aborted', 'forwarder stopped'));
    const sock = dgram.createSocket(up.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    let peer: { address: string; port: number } | null = null;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      timer.cancel();
      o.signal.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => finish(new UpstreamError('aborted', 'forwarder stopped'));
    const timer = o.clock.setTimeout(() => finish(new UpstreamError('timeout', `no reply from ${up.name} within ${o.timeoutMs} ms`)), o.timeoutMs);
    o.signal.addEventListener('abort', onAbort);
    sock.on('error', (err) => finish(new UpstreamError('network', `${up.name}: ${err.message}`, { cause: err })));
    sock.on('message', (msg, rinfo) => {
      // The kernel already filters a connected socket; this check keeps the rule explicit.
      if (!peer || rinfo.address !== peer.address || rinfo.port !== peer.port) return o.onDiscard?.(`reply from ${rinfo.address}:${rinfo.port}, not ${up.name}`);
      if (!replyMatches(msg, query)) return o.onDiscard?.(`reply from ${up.name} with a different ID or question`);
      finish(null, msg);
    });
    sock.connect(up.port, up.host, (err?: Error) => {
      if (done) return;
      if (err) return finish(new UpstreamError('network', `${up.name}: ${err.message}`, { cause: err }));
      peer = sock.remoteAddress();
      sock.send(query, (e) => {
        if (e) finish(new UpstreamError('network', `${up.name}: ${e.message}`, { cause: e }));
      });
    });
  });
}
