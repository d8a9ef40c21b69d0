/**
 * One DNS-over-TCP connection (RFC 1035 §4.2.2, RFC 7766): 2-byte length
 * framing, several queries in flight at once, replies in completion order.
 *
 * Flow control, so one client cannot make the server hold unbounded work:
 *  - at most `maxPipelined` queries of this connection are in the chain; past
 *    that, frames already received wait and reading pauses;
 *  - when the socket's write buffer is full (a client that does not read its
 *    replies), no further query is started and reading pauses until 'drain';
 *  - the idle timer runs while nothing is in flight; only a complete query
 *    or a written reply counts as activity (trickled bytes do not keep a
 *    connection alive).
 */
import type net from 'node:net';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Remote } from '../plugin.js';

export interface TcpDeps {
  clock: Clock;
  logger: Logger;
  limits(): { idleTimeoutMs: number; maxPipelined: number };
  handle(raw: Buffer, remote: Remote): Buffer | null | Promise<Buffer | null>;
  /** Called when a query is taken in and when its reply has been handed to the socket. */
  began(): void;
  settled(): void;
  closing(): boolean;
}

export class TcpConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending = 0;
  private writeBlocked = false;
  private timer: Timer | null = null;
  private readonly remote: Remote;

  constructor(private readonly sock: net.Socket, private readonly deps: TcpDeps) {
    this.remote = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, family: sock.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4' };
    sock.setNoDelay(true);
    sock.on('data', (chunk) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.pump();
    });
    sock.on('drain', () => {
      this.writeBlocked = false;
      this.pump();
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.timer?.cancel());
    this.arm();
  }

  /** Ends the connection once nothing is in flight (shutdown). */
  drain(): void {
    if (this.pending === 0) this.sock.end();
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = this.pending === 0 ? this.deps.clock.setTimeout(() => this.sock.destroy(), this.deps.limits().idleTimeoutMs) : null;
  }

  /** The next complete frame's payload, or null. Concatenates only once a whole frame is there. */
  private nextFrame(): Buffer | null {
    if (this.buffered < 2) return null;
    if (this.chunks[0]!.length < 2) this.chunks = [Buffer.concat(this.chunks)];
    const len = this.chunks[0]!.readUInt16BE(0);
    if (this.buffered < 2 + len) return null;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const msg = Buffer.from(all.subarray(2, 2 + len));
    const rest = all.subarray(2 + len);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return msg;
  }

  private pump(): void {
    const { maxPipelined } = this.deps.limits();
    let started = false;
    while (!this.writeBlocked && this.pending < maxPipelined && !this.sock.destroyed) {
      const msg = this.nextFrame();
      if (!msg) break;
      started = true;
      this.dispatch(msg);
    }
    if (started) this.arm();
    // Read more only when we could act on it.
    const stalled = this.writeBlocked || this.pending >= maxPipelined;
    if (stalled && !this.sock.isPaused()) this.sock.pause();
    else if (!stalled && this.sock.isPaused()) this.sock.resume();
  }

  private dispatch(msg: Buffer): void {
    this.pending++;
    this.deps.began();
    // Completion stays asynchronous even for a synchronous answer: pump() and arm() must not re-enter the read loop.
    Promise.resolve(this.deps.handle(msg, this.remote))
      .then(
        (out) => {
          if (!out || this.sock.destroyed) return;
          const frame = Buffer.allocUnsafe(2 + out.length);
          frame.writeUInt16BE(out.length, 0);
          out.copy(frame, 2);
          if (!this.sock.write(frame)) this.writeBlocked = true;
        },
        (err) => this.deps.logger.error({ err }, 'unexpected failure handling a TCP query'),
      )
      .finally(() => {
        this.pending--;
        this.deps.settled();
        if (this.deps.closing()) this.drain();
        else this.pump();
        this.arm();
      });
  }
}
