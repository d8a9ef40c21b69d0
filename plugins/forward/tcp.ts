/**
 * Queries over TCP (RFC 7766): a small pool of connections per upstream,
 * reused until idle for `expire`, with several queries in flight on one
 * connection (pipelining, §6.2.1.1), told apart by ID. A reply whose ID has no
 * query waiting, or whose question does not match, is discarded.
 */
import net from 'node:net';
import type { Clock, Timer } from '../../src/clock.js';
import { randomId, replyMatches } from './message.js';
import { UpstreamError, type ExchangeOptions } from './udp.js';
import type { UpstreamAddress } from './upstreams.js';

/** Queries in flight on one connection before another connection is opened. */
const PIPELINE = 32;
/** Connections per upstream, at most (past it the least busy one is shared). */
const MAX_CONNS = 8;

interface Waiter {
  query: Buffer;
  resolve(reply: Buffer): void;
  reject(err: Error): void;
}

class Conn {
  readonly waiting = new Map<number, Waiter>();
  /** False once it closed, or once a query on it timed out (it may be stuck): no new queries then. */
  usable = true;
  /** Queries sent on it so far (a reused connection may have been closed by the peer meanwhile). */
  sent = 0;
  private buf: Buffer = Buffer.alloc(0);
  private idle: Timer | null = null;
  private readonly sock: net.Socket;

  constructor(private readonly pool: TcpPool, up: UpstreamAddress) {
    this.sock = net.connect({ host: up.host, port: up.port, family: up.family });
    this.sock.setNoDelay(true);
    this.sock.on('data', (chunk) => this.onData(chunk));
    this.sock.on('error', () => undefined); // 'close' follows and fails whatever is waiting
    this.sock.on('end', () => (this.usable = false)); // the upstream is closing it: no new queries
    this.sock.on('close', () => this.onClose());
  }

  send(query: Buffer, o: ExchangeOptions, upName: string): Promise<Buffer> {
    // IDs must be unique among this connection's queries in flight.
    while (this.waiting.has(query.readUInt16BE(0))) query.writeUInt16BE(randomId(), 0);
    const id = query.readUInt16BE(0);
    this.idle?.cancel();
    this.idle = null;
    this.sent++;
    return new Promise((resolve, reject) => {
      let timer: Timer | null = null;
      const onAbort = () => settle(new UpstreamError('aborted', 'forwarder stopped'));
      const settle = (err: Error | null, reply?: Buffer) => {
        if (this.waiting.get(id) !== w) return;
        this.waiting.delete(id);
        timer?.cancel();
        o.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(reply!);
        this.maybeIdle();
      };
      const w: Waiter = { query, resolve: (r) => settle(null, r), reject: (e) => settle(e) };
      this.waiting.set(id, w);
      timer = o.clock.setTimeout(() => {
        this.usable = false;
        settle(new UpstreamError('timeout', `no TCP reply from ${upName} within ${o.timeoutMs} ms`));
      }, o.timeoutMs);
      o.signal.addEventListener('abort', onAbort);
      const frame = Buffer.allocUnsafe(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      this.sock.write(frame);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const msg = Buffer.from(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
      const w = msg.length >= 2 ? this.waiting.get(msg.readUInt16BE(0)) : undefined;
      if (w && replyMatches(msg, w.query)) w.resolve(msg);
      else this.pool.discard('TCP reply with no matching query (ID or question)');
    }
  }

  private onClose(): void {
    this.usable = false;
    this.idle?.cancel();
    this.pool.remove(this);
    for (const w of [...this.waiting.values()]) w.reject(new UpstreamError('network', 'upstream closed the TCP connection'));
  }

  private maybeIdle(): void {
    if (this.waiting.size > 0) return;
    if (!this.usable || this.pool.expireMs === 0) return this.close();
    this.idle = this.pool.clock.setTimeout(() => this.close(), this.pool.expireMs);
  }

  get closed(): boolean {
    return this.sock.destroyed;
  }

  close(): void {
    this.usable = false;
    this.pool.remove(this);
    this.sock.destroy();
  }
}

export class TcpPool {
  private conns: Conn[] = [];
  /** Connections opened so far (tests check reuse with it). */
  opened = 0;

  constructor(
    private readonly up: UpstreamAddress,
    readonly clock: Clock,
    readonly expireMs: number,
    private readonly onDiscard: (why: string) => void,
  ) {}

  /** Sends `query` (its ID may be changed to keep IDs unique on the connection) and resolves with the matching reply. */
  async exchange(query: Buffer, o: ExchangeOptions): Promise<Buffer> {
    if (o.signal.aborted) throw new UpstreamError('aborted', 'forwarder stopped');
    const conn = this.pick();
    const reused = conn.sent > 0;
    try {
      return await conn.send(query, o, this.up.name);
    } catch (err) {
      // A reused connection the upstream closed while idle (RFC 7766 §6.2.3 lets it): try once more on a new one.
      if (reused && err instanceof UpstreamError && err.kind === 'network' && !o.signal.aborted) {
        return this.fresh().send(query, o, this.up.name);
      }
      throw err;
    }
  }

  private pick(): Conn {
    let best: Conn | null = null;
    for (const c of this.conns) {
      if (c.usable && !c.closed && (!best || c.waiting.size < best.waiting.size)) best = c;
    }
    if (best && (best.waiting.size < PIPELINE || this.conns.length >= MAX_CONNS)) return best;
    return this.fresh();
  }

  private fresh(): Conn {
    const c = new Conn(this, this.up);
    this.opened++;
    this.conns.push(c);
    return c;
  }

  discard(why: string): void {
    this.onDiscard(why);
  }

  remove(c: Conn): void {
    this.conns = this.conns.filter((x) => x !== c);
  }

  /** Open connections (idle or busy). */
  get size(): number {
    return this.conns.length;
  }

  close(): void {
    for (const c of [...this.conns]) c.close();
    this.conns = [];
  }
}
