/**
 * Queries over UDP through a small pool of sockets per upstream, instead of a
 * socket per query (which cost a socket, bind, connect and close each).
 *
 * Each socket is bound by the kernel to its own random ephemeral port and
 * connected to the upstream: the kernel then only delivers datagrams from
 * that address and port, and an ICMP port-unreachable surfaces as an error at
 * once instead of a timeout. On the native UDP path the sockets are the
 * addon's (src/server/udp/native.ts NativeUdpClient): the queries of one
 * batch of client queries leave with one sendmmsg per socket, and replies are
 * read in batches; on dgram, one send and one 'message' per datagram. Many queries are in flight on one socket, told
 * apart by ID; an ID is drawn from a CSPRNG and never reused while a query
 * with it is in flight on that socket. A reply whose source, ID or question
 * does not match a query in flight is discarded and the wait goes on
 * (RFC 5452 §9.1). Sockets are retired after `maxQueries` queries or
 * `maxAgeMs` (so a port an attacker learned stops being useful), and closed
 * once their last query in flight is settled.
 */
import type { Clock, Timer } from '../../src/clock.js';
import { openUdpClient } from '../../src/server/udp/choose.js';
import type { UdpClient, UdpPath } from '../../src/server/udp/socket.js';
import { randomId, replyMatches } from './message.js';
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

export interface UdpPoolSettings {
  clock: Clock;
  /** The server's UDP path: native sockets send upstream queries with sendmmsg and read replies in batches. */
  path: UdpPath;
  /** Aborted when the forwarder stops: every query in flight fails with 'aborted' and the sockets close. */
  signal: AbortSignal;
  /** Sockets (so source ports) in use at once for this upstream. */
  sockets: number;
  /** Queries one socket carries before it is retired (0: no limit). */
  maxQueries: number;
  /** Age at which a socket is retired, in ms of the clock (0: no limit). */
  maxAgeMs: number;
  onDiscard: (why: string) => void;
}

/**
 * Queries in flight on one socket at most: IDs are drawn until a free one
 * comes up, so the 16-bit space must never fill. Past it another socket of
 * the pool is used, or the query fails.
 */
export const SOCKET_INFLIGHT_MAX = 16384;

interface Waiter {
  id: number;
  query: Buffer;
  /** Clock time at which it fails with a timeout. */
  deadline: number;
  timeoutMs: number;
  settled: boolean;
  resolve(reply: Buffer): void;
  reject(err: Error): void;
}

/**
 * One socket of the pool. Its queries' timeouts are one clock timer, armed
 * for the earliest deadline (or earlier), over a queue in deadline order
 * (replies mostly come in order, so settled queries leave from its head): no
 * timer per query, at any rate.
 */
class PooledSocket {
  readonly waiting = new Map<number, Waiter>();
  /** Queries sent on it so far. */
  sent = 0;
  /** No new queries: closed once `waiting` is empty. */
  retired = false;
  closed = false;
  private readonly ageTimer: Timer | null;
  private readonly sock: UdpClient;
  /** Queries in deadline order from `head` on (settled ones stay until they reach the head). */
  private queue: (Waiter | undefined)[] = [];
  private head = 0;
  private timer: Timer | null = null;
  private timerAt = Infinity;

  /** Throws when the socket cannot be opened (EMFILE, ...). */
  constructor(private readonly pool: UdpPool, private readonly up: UpstreamAddress) {
    this.sock = openUdpClient(pool.s.path, up, { message: (msg) => this.onMessage(msg), error: (err) => this.fail(err) });
    const age = pool.s.maxAgeMs;
    this.ageTimer = age > 0 ? pool.s.clock.setTimeout(() => pool.retire(this), age) : null;
  }

  /** Sends `query` with an ID no other query in flight here has (written into it) and waits for its reply. */
  send(query: Buffer, timeoutMs: number): Promise<Buffer> {
    let id = randomId();
    while (this.waiting.has(id)) id = randomId();
    query.writeUInt16BE(id, 0);
    this.sent++;
    const deadline = this.pool.s.clock.now() + timeoutMs;
    const reply = new Promise<Buffer>((resolve, reject) => {
      const w: Waiter = { id, query, deadline, timeoutMs, settled: false, resolve, reject };
      this.waiting.set(id, w);
      this.enqueue(w);
      this.sock.send(query);
    });
    // Its last query: no new ones; it closes once this one (and any other in flight) is settled.
    if (this.pool.s.maxQueries > 0 && this.sent >= this.pool.s.maxQueries) this.pool.retire(this);
    return reply;
  }

  /** Into the deadline queue (behind every later deadline: usually at the end). */
  private enqueue(w: Waiter): void {
    const q = this.queue;
    let i = q.length;
    q.push(w);
    while (i > this.head && q[i - 1]!.deadline > w.deadline) {
      q[i] = q[i - 1];
      i--;
    }
    q[i] = w;
    if (w.deadline < this.timerAt) this.arm(w.deadline);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.pool.s.clock.setTimeout(this.expire, Math.max(0, at - this.pool.s.clock.now()));
  }

  /** The timer: every query whose deadline has come fails with a timeout; the timer is armed for the next. */
  private readonly expire = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.pool.s.clock.now();
    // The head is never a settled query (settle() compacts), and settle() may
    // replace the queue: read this.queue afresh each time.
    while (this.head < this.queue.length && this.queue[this.head]!.deadline <= now) {
      const w = this.queue[this.head]!;
      this.settle(w.id, new UpstreamError('timeout', `no reply from ${this.up.name} within ${w.timeoutMs} ms`));
    }
    if (!this.closed && this.head < this.queue.length) this.arm(this.queue[this.head]!.deadline);
  };

  /**
   * Drops settled queries from the head of the queue. An armed timer stays
   * when the queue empties (at a low rate it empties after every reply): the
   * next query's deadline is later, so it is not re-armed for it, and when it
   * fires it arms itself for whatever is then at the head, or for nothing.
   */
  private compact(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.settled) q[this.head++] = undefined;
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }

  /** A datagram from the upstream (a connected socket hears from no one else). */
  private onMessage(msg: Buffer): void {
    const w = msg.length >= 12 ? this.waiting.get(msg.readUInt16BE(0)) : undefined;
    if (!w || !replyMatches(msg, w.query)) return this.pool.s.onDiscard(`reply from ${this.up.name} with no query in flight for its ID and question`);
    this.settle(msg.readUInt16BE(0), null, msg);
  }

  /** Settles the query with `id`, if it is still waiting; closes a retired socket once nothing waits. */
  settle(id: number, err: Error | null, reply?: Buffer): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    w.settled = true;
    this.compact();
    if (err) w.reject(err);
    else w.resolve(reply!);
    if (this.retired && this.waiting.size === 0) this.close();
  }

  /**
   * A socket error: a failed bind/connect, or an ICMP error (port or host
   * unreachable) reported by the kernel on the next receive or send. It cannot
   * be tied to one datagram, so every query in flight here fails at once as a
   * network failure (the forwarder moves on to the next upstream), and the
   * socket is replaced.
   */
  private fail(err: Error): void {
    if (this.closed) return;
    this.pool.retire(this);
    const e = new UpstreamError('network', `${this.up.name}: ${err.message}`, { cause: err });
    for (const id of [...this.waiting.keys()]) this.settle(id, e);
    this.close();
  }

  /** Fails whatever still waits with `err` and closes the socket. */
  close(err?: Error): void {
    if (this.closed) return;
    this.retired = true;
    this.closed = true;
    this.ageTimer?.cancel();
    this.timer?.cancel();
    this.timer = null;
    if (err) for (const id of [...this.waiting.keys()]) this.settle(id, err);
    this.sock.close();
    this.pool.closedOne(this);
  }
}

/** The UDP sockets of one upstream. */
export class UdpPool {
  /** Sockets that take new queries (at most `sockets`). */
  private live: PooledSocket[] = [];
  /** Every open socket: live ones and retired ones still draining. */
  private readonly open = new Set<PooledSocket>();
  /** Sockets opened and closed so far (tests, and leak checks). */
  opened = 0;
  closed = 0;

  constructor(private readonly up: UpstreamAddress, readonly s: UdpPoolSettings) {
    s.signal.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Sends `query` (its ID is replaced by a fresh one) and resolves with the matching reply. */
  exchange(query: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.s.signal.aborted) return Promise.reject(new UpstreamError('aborted', 'forwarder stopped'));
    let sock: PooledSocket | null;
    try {
      sock = this.pick();
    } catch (err) {
      return Promise.reject(new UpstreamError('network', `${this.up.name}: ${(err as Error).message}`, { cause: err }));
    }
    if (!sock) return Promise.reject(new UpstreamError('network', `${this.up.name}: ${SOCKET_INFLIGHT_MAX} queries in flight on every socket`));
    return sock.send(query, timeoutMs);
  }

  /**
   * A new socket until `sockets` are live (so the ports in use grow with the
   * pool, not with the load), then a random live one: an attacker who learned
   * the ports still does not know which one a query leaves from.
   */
  private pick(): PooledSocket | null {
    if (this.live.length < this.s.sockets) {
      const sock = new PooledSocket(this, this.up);
      this.opened++;
      this.live.push(sock);
      this.open.add(sock);
      return sock;
    }
    const start = randomId() % this.live.length;
    for (let i = 0; i < this.live.length; i++) {
      const sock = this.live[(start + i) % this.live.length]!;
      if (sock.waiting.size < SOCKET_INFLIGHT_MAX) return sock;
    }
    return null;
  }

  /** No new queries on `sock`; it closes once its queries in flight are settled. */
  retire(sock: PooledSocket): void {
    if (sock.retired) return;
    sock.retired = true;
    const i = this.live.indexOf(sock);
    if (i >= 0) this.live.splice(i, 1);
    if (sock.waiting.size === 0) sock.close();
  }

  closedOne(sock: PooledSocket): void {
    const i = this.live.indexOf(sock);
    if (i >= 0) this.live.splice(i, 1);
    if (this.open.delete(sock)) this.closed++;
  }

  /** Open sockets, live and draining. */
  get size(): number {
    return this.open.size;
  }

  /** Sockets taking new queries. */
  get liveCount(): number {
    return this.live.length;
  }

  /** Queries in flight on each open socket, keyed by socket (tests check ID uniqueness with it). */
  inflightIds(): number[][] {
    return [...this.open].map((s) => [...s.waiting.keys()]);
  }

  /** Fails every query in flight with 'aborted' and closes every socket. */
  close(): void {
    const err = new UpstreamError('aborted', 'forwarder stopped');
    for (const sock of [...this.open]) sock.close(err);
    this.live = [];
  }
}
