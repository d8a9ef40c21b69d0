/**
 * The DNS server: UDP and TCP listeners on each configured address (the same
 * port for both, even when the port is 0), the request lifecycle and limits.
 *
 * Limits: `maxInFlight` queries in the chain at once (past it the server
 * sheds: REFUSED or drop), `tcp.maxConnections` (new connections past it are
 * closed at once), `tcp.idleTimeoutMs` (a connection with nothing in flight
 * and nothing received for that long is closed), `tcp.maxPipelined` queries in
 * flight per connection (reading pauses past it).
 *
 * UDP goes through one small socket interface (udp/socket.ts): the native
 * batched socket or node:dgram, chosen once at start (`udp`, SKYDNS_UDP).
 * In a worker of a `workers` group on the native path each worker owns its
 * own SO_REUSEPORT socket; TCP is bound first there, through the cluster's
 * shared handle, so that port 0 still gives every worker the same port.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { isPromise } from '../chain.js';
import type { Clock } from '../clock.js';
import { parseQuery } from '../dns/query.js';
import { Rcode } from '../dns/types.js';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Reply, Remote, Request } from '../plugin.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import { QueryRequest } from './request.js';
import { TcpConnection } from './tcp.js';
import { finishReply, protocolError, servfail, type Written } from './respond.js';
import { bindUdp, resolveUdpPath, type UdpMode } from './udp/choose.js';
import type { UdpPath, UdpRemote, UdpSink, UdpSocket } from './udp/socket.js';

export interface ServerOptions {
  listen: string[];
  /** Largest UDP reply we send, and the size we advertise in OPT (default 1232). */
  maxUdpSize: number;
  maxInFlight: number;
  shed: 'refused' | 'drop';
  tcp: { idleTimeoutMs: number; maxConnections: number; maxPipelined: number };
  /** UDP implementation: "auto" (native when the addon loaded on Linux, else dgram), "native" or "dgram". SKYDNS_UDP overrides it. */
  udp?: UdpMode;
}

export type RequestHandler = (req: Request) => Reply | Promise<Reply>;

interface Listener {
  address: string;
  udp: UdpSocket;
  tcp: net.Server;
}

export class DnsServer {
  private listeners: Listener[] = [];
  private inFlight = 0;
  private tcpConns = new Map<net.Socket, TcpConnection>();
  private idle: Promise<void> | null = null;
  private idleResolve: (() => void) | null = null;
  private closing = false;
  /** Queries refused or dropped because `maxInFlight` was reached. */
  shed = 0;
  /** Queries received and not yet answered (handed to the socket) or dropped; unlike inFlight, counts the encode and send. */
  private active = 0;
  /** The UDP path serving (resolved at start; a reload keeps it). */
  private path: UdpPath | undefined;
  /** Replies dropped by listeners already closed (reload), so the total never goes down. */
  private droppedByClosed = 0;
  private readonly sink: UdpSink = {
    answer: (msg, remote) => this.answerUdp(msg, remote),
    settled: () => this.settle(),
    failed: (err) => this.logger.error({ err }, 'unexpected failure handling a UDP query'),
    error: (err) => this.logger.error({ err }, 'UDP socket error'), // replaced per listener (with its address)
  };

  constructor(
    private opts: ServerOptions,
    private handler: RequestHandler,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Swaps the chain (reload); queries already in flight finish on the old one. */
  setHandler(h: RequestHandler): void {
    this.handler = h;
  }

  /** "host:port" of every bound listener (UDP and TCP share it). */
  addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  get queriesInFlight(): number {
    return this.inFlight;
  }

  get tcpConnections(): number {
    return this.tcpConns.size;
  }

  /** The UDP implementation serving, once started. */
  get udpPath(): UdpPath | undefined {
    return this.path;
  }

  /** UDP replies that never left (native: queue full, closed with replies queued, refused by the kernel). */
  get udpDropped(): number {
    return this.listeners.reduce((n, l) => n + l.udp.counters().dropped, this.droppedByClosed);
  }

  async start(): Promise<void> {
    this.path = resolveUdpPath(this.opts.udp);
    for (const [i, s] of this.opts.listen.entries()) {
      const hp = parseHostPort(s, `dns.listen[${i}]`);
      this.listeners.push(await this.bindPair(hp, s));
    }
  }

  /**
   * Applies new options (reload): limits take effect for the next query;
   * listeners whose address is unchanged stay open, new addresses are bound
   * first (a failure leaves everything as it was), removed ones are closed.
   */
  async reconfigure(opts: ServerOptions): Promise<void> {
    const keep = new Map(this.listeners.map((l, i) => [this.opts.listen[i]!, l]));
    const next: Listener[] = [];
    const added: Listener[] = [];
    try {
      for (const [i, s] of opts.listen.entries()) {
        const existing = keep.get(s);
        if (existing) {
          keep.delete(s);
          next.push(existing);
        } else {
          const l = await this.bindPair(parseHostPort(s, `dns.listen[${i}]`), s);
          added.push(l);
          next.push(l);
        }
      }
    } catch (err) {
      for (const l of added) this.closeListener(l);
      throw err;
    }
    for (const l of keep.values()) this.closeListener(l);
    this.listeners = next;
    if ((opts.udp ?? 'auto') !== (this.opts.udp ?? 'auto')) this.logger.warn({ serving: this.path, configured: opts.udp }, 'dns.udp changed: that needs a restart; keeping the running UDP path');
    this.opts = opts;
  }

  private async bindPair(hp: HostPort, spec: string): Promise<Listener> {
    const path = this.path ?? resolveUdpPath(this.opts.udp);
    if (path === 'native' && cluster.isWorker) {
      // Each worker owns a SO_REUSEPORT socket; the TCP handle the cluster shares fixes the port for all (port 0 too).
      const tcp = await this.bindTcp(hp, spec);
      const port = (tcp.address() as net.AddressInfo).port;
      try {
        const udp = await this.bindUdp(path, { ...hp, port }, spec, true);
        return { address: formatHostPort(hp.host, port), udp, tcp };
      } catch (err) {
        tcp.close();
        throw err;
      }
    }
    // With port 0 the kernel picks the UDP port; TCP must then get the same one.
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(path, hp, spec, false);
      const port = udp.port;
      try {
        const tcp = await this.bindTcp({ ...hp, port }, spec);
        return { address: formatHostPort(hp.host, port), udp, tcp };
      } catch (err) {
        this.closeUdp(udp);
        if (hp.port !== 0 || attempt >= 20) throw err;
      }
    }
  }

  private async bindUdp(path: UdpPath, hp: HostPort, spec: string, reusePort: boolean): Promise<UdpSocket> {
    try {
      const sink: UdpSink = { ...this.sink, error: (err) => this.logger.error({ err, address: spec }, 'UDP socket error') };
      return await bindUdp(path, { host: hp.host, port: hp.port, family: hp.family, reusePort }, sink);
    } catch (err) {
      throw listenError(err as NodeJS.ErrnoException, 'UDP', spec);
    }
  }

  private bindTcp(hp: HostPort, spec: string): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer((sock) => this.onTcp(sock));
      srv.once('error', (err) => reject(listenError(err, 'TCP', spec)));
      // Not `exclusive`: in a cluster worker (Skyfile `workers`) the primary holds the socket and shares it.
      srv.listen({ port: hp.port, host: hp.host }, () => {
        srv.removeAllListeners('error');
        srv.on('error', (err) => this.logger.error({ err, address: spec }, 'TCP listener error'));
        resolve(srv);
      });
    });
  }

  /**
   * One UDP datagram (the socket sends the reply and then calls settled()).
   * While stopping, new datagrams get no reply. The remote has the Remote
   * shape (dgram's rinfo, or the native socket's equivalent): no copy.
   */
  private answerUdp(msg: Buffer, remote: UdpRemote): Buffer | null | Promise<Buffer | null> {
    this.active++;
    if (this.closing) return null;
    try {
      return this.handle(msg, 'udp', remote as Remote);
    } catch (err) {
      this.logger.error({ err }, 'unexpected failure handling a UDP query');
      return null;
    }
  }

  private onTcp(sock: net.Socket): void {
    if (this.closing || this.tcpConns.size >= this.opts.tcp.maxConnections) {
      sock.destroy();
      return;
    }
    const conn = new TcpConnection(sock, {
      clock: this.clock,
      logger: this.logger,
      limits: () => this.opts.tcp,
      handle: (raw, remote) => this.handle(raw, 'tcp', remote),
      began: () => this.active++,
      settled: () => this.settle(),
      closing: () => this.closing,
    });
    this.tcpConns.set(sock, conn);
    sock.on('close', () => this.tcpConns.delete(sock));
  }

  /**
   * One query in, at most one reply out (null: send nothing). Never throws.
   * Synchronous when the chain answers synchronously (cache and zone hits):
   * no promise is made on that path.
   */
  handle(raw: Buffer, transport: 'udp' | 'tcp', remote: Remote): Buffer | null | Promise<Buffer | null> {
    const v = parseQuery(raw);
    if (v.kind === 'drop') return null;
    const udpMax = this.opts.maxUdpSize;
    if (v.kind === 'error') return protocolError(raw, v, udpMax).wire;
    const q = v.query;
    const maxSize = transport === 'tcp' ? 65535 : q.edns ? Math.min(Math.max(512, q.edns.udpSize), udpMax) : 512;
    const req = new QueryRequest(q, raw, transport, remote, maxSize, this.clock.now());
    if (this.inFlight >= this.opts.maxInFlight) {
      this.shed++;
      if (this.opts.shed === 'drop') return null;
      return finishReply(req, { msg: { rcode: Rcode.REFUSED } }, udpMax)!.wire;
    }
    const t0 = performance.now();
    this.inFlight++;
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.handler(req);
    } catch (err) {
      return this.finish(req, null, err, t0);
    }
    if (isPromise(reply)) {
      return reply.then(
        (r) => this.finish(req, r, null, t0),
        (err) => this.finish(req, null, err, t0),
      );
    }
    return this.finish(req, reply, null, t0);
  }

  /** Encodes the chain's reply (or SERVFAIL for a failure) and tells the plugins that watch. */
  private finish(req: QueryRequest, reply: Reply | null, failure: unknown, t0: number): Buffer | null {
    this.inFlight--;
    const udpMax = this.opts.maxUdpSize;
    let out: Written | null;
    if (reply === null) {
      this.logger.error({ err: failure, name: req.qname, type: req.type }, 'chain failed');
      out = servfail(req, udpMax);
    } else {
      try {
        out = finishReply(req, reply, udpMax);
      } catch (err) {
        this.logger.error({ err, plugin: reply.by, name: req.qname, type: req.type }, 'reply could not be encoded');
        out = servfail(req, udpMax);
      }
    }
    if (req.watched) req.responded(
      { rcode: out?.rcode ?? 0, size: out?.wire.length ?? 0, truncated: out?.truncated ?? false, dropped: out === null, answerCount: out ? out.wire.readUInt16BE(6) : 0, durationMs: performance.now() - t0, answeredBy: reply?.by },
      (err) => this.logger.error({ err }, 'onResponse listener failed'),
    );
    return out?.wire ?? null;
  }

  private settle(): void {
    this.active--;
    if (this.active === 0 && this.idleResolve) this.idleResolve();
  }

  /**
   * Resolves once every UDP reply handed to a socket has left it, or at
   * `deadline`. A send first resolves its address (a tick), then queues.
   */
  private async drainUdp(deadline: number): Promise<void> {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      let queued = 0;
      for (const l of this.listeners) queued += l.udp.queued();
      if (queued === 0 || performance.now() >= deadline) return;
      await new Promise<void>((r) => setTimeout(r, 1).unref());
    }
  }

  /** Stops accepting; waits up to `graceMs` for queries in flight; closes everything. */
  async stop(graceMs = 5000): Promise<void> {
    this.closing = true;
    for (const l of this.listeners) {
      l.tcp.close();
    }
    const deadline = performance.now() + graceMs;
    if (this.active > 0) {
      this.idle ??= new Promise((r) => (this.idleResolve = r));
      await Promise.race([this.idle, new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    await this.drainUdp(deadline);
    for (const l of this.listeners) this.closeUdp(l.udp);
    // end() flushes replies already written before the FIN; destroy whatever lingers.
    for (const [s, conn] of this.tcpConns) {
      conn.drain();
      setTimeout(() => s.destroy(), 1000).unref();
    }
    this.listeners = [];
  }

  private closeListener(l: Listener): void {
    l.tcp.close();
    this.closeUdp(l.udp);
  }

  private closeUdp(u: UdpSocket): void {
    u.close();
    this.droppedByClosed += u.counters().dropped;
  }
}

function listenError(err: NodeJS.ErrnoException, proto: string, spec: string): SkyError {
  const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)' : err.message;
  return new SkyError('SKY_ERR_LISTEN', `cannot listen on ${spec} (${proto}): ${why}`, { cause: err });
}
