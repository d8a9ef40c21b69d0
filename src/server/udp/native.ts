/**
 * The native batched UDP listener (native/, Linux): the kernel's datagrams
 * arrive in batches of up to 64 (recvmmsg), JS is called once per batch and
 * reads the payloads, source addresses and lengths from one shared
 * ArrayBuffer; replies are queued in the addon and leave with one sendmmsg
 * per batch. Also the connected client socket the forward plugin sends its
 * upstream queries through (NativeUdpClient). The only importer of the
 * compiled binding.
 *
 * Each datagram is copied out of the shared arena into its own small Buffer
 * before `answer` sees it: a request may outlive the batch (an async chain
 * keeps `req.raw`), and the arena is overwritten by the next batch.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPromise } from '../../chain.js';
import type { UdpBindOptions, UdpClient, UdpClientHandler, UdpCounters, UdpPeer, UdpRemote, UdpSink, UdpSocket } from './socket.js';

interface Handle {
  shared: ArrayBuffer;
  /** The shared buffer's layout for this socket. */
  batch: number;
  slot: number;
  addrsOff: number;
  lensOff: number;
}

interface NativeStats {
  received: number;
  batches: number;
  sent: number;
  dropped: number;
  sendErrors: number;
  recvErrors: number;
  truncated: number;
  wouldBlock: number;
  lastErrno: number;
  queued: number;
}

interface Binding {
  open(family: number, host: string, port: number, reusePort: boolean, rcvbuf: number, sndbuf: number, onBatch: (count: number) => void, batch?: number, slot?: number): Handle;
  /** addr null: to the peer of a connected socket. */
  send(h: Handle, buf: Buffer, addr: Buffer | null, off: number): boolean;
  /** 0, or (connected) the errno of the first send refused since the last report. */
  flush(h: Handle): number;
  connect(h: Handle, host: string, port: number): void;
  close(h: Handle): void;
  queued(h: Handle): number;
  stats(h: Handle): NativeStats;
  local(h: Handle): [string, number];
  addrName(buf: Buffer, off: number): [string, number];
  liveSockets(): number;
  openSockets(): number;
  BATCH: number;
  SLOT: number;
  ADDR: number;
  ADDRS_OFF: number;
  LENS_OFF: number;
  QUEUE_MAX: number;
}

/** The package root (dist/src/server/udp/ -> four levels up; src/server/udp/ under ts-node -> three). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

/** Where the addon is looked for: SKYDNS_UDP_ADDON (e.g. the ASan build), else native/build/skydns_udp.node. */
export function addonPath(): string {
  return process.env.SKYDNS_UDP_ADDON || join(packageRoot(), 'native', 'build', 'skydns_udp.node');
}

/** sa_family is in host byte order. */
const LITTLE_ENDIAN = endianness() === 'LE';

let loaded: { binding: Binding } | { reason: string } | undefined;

/** The binding, or why there is none (not Linux, not built, failed to load). Loaded once. */
export function nativeBinding(): { binding: Binding } | { reason: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { reason: `the native UDP socket is Linux only (this is ${process.platform})` });
  const file = addonPath();
  if (!existsSync(file)) return (loaded = { reason: `the native UDP addon is not built (${file} is missing; run node scripts/build-native.mjs)` });
  try {
    return (loaded = { binding: createRequire(import.meta.url)(file) as Binding });
  } catch (err) {
    return (loaded = { reason: `the native UDP addon did not load: ${(err as Error).message}` });
  }
}

/** Sockets not yet freed by the addon (closed and collected ones are not counted); tests check finalizers with it. */
export function nativeLiveSockets(): number {
  const b = nativeBinding();
  return 'binding' in b ? b.binding.liveSockets() : 0;
}

/** The payloads, source addresses and lengths of a handle's shared buffer. */
function views(b: Binding, h: Handle): { arena: Buffer; addrs: Buffer; lens: Int32Array } {
  return {
    arena: Buffer.from(h.shared, 0, h.addrsOff),
    addrs: Buffer.from(h.shared, h.addrsOff, h.batch * b.ADDR),
    lens: new Int32Array(h.shared, h.lensOff, h.batch),
  };
}

/** Native sockets whose fd is still open (closed ones drop out once libuv has closed them); tests check leaks with it. */
export function nativeOpenSockets(): number {
  const b = nativeBinding();
  return 'binding' in b ? b.binding.openSockets() : 0;
}

export class NativeUdpSocket implements UdpSocket {
  readonly path = 'native' as const;
  readonly port: number;
  private readonly h: Handle;
  private readonly arena: Buffer;
  private readonly addrs: Buffer;
  private readonly lens: Int32Array;
  private closed = false;
  private flushScheduled = false;
  /** The last source address seen, as text (a cache: most batches come from few clients). */
  private lastV4 = -1;
  private lastV4Text = '';
  private lastV6Key = '';
  private lastV6Text = '';

  private constructor(
    private readonly b: Binding,
    o: UdpBindOptions,
    private readonly sink: UdpSink,
  ) {
    this.h = b.open(o.family, o.host, o.port, o.reusePort ?? false, o.recvBufferSize ?? 0, o.sendBufferSize ?? 0, (n) => this.onBatch(n));
    ({ arena: this.arena, addrs: this.addrs, lens: this.lens } = views(b, this.h));
    this.port = b.local(this.h)[1];
  }

  /** Binds (synchronously underneath); rejects with the bind error (code EADDRINUSE, ...) or when the addon is missing. */
  static async bind(o: UdpBindOptions, sink: UdpSink): Promise<NativeUdpSocket> {
    const b = nativeBinding();
    if (!('binding' in b)) throw new Error(b.reason);
    return new NativeUdpSocket(b.binding, o, sink);
  }

  queued(): number {
    return this.closed ? 0 : this.b.queued(this.h);
  }

  counters(): UdpCounters {
    return { dropped: this.b.stats(this.h).dropped };
  }

  /** The addon's counters (received, batches, sent, dropped, wouldBlock, ...). */
  stats(): NativeStats {
    return this.b.stats(this.h);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.b.close(this.h);
  }

  private onBatch(n: number): void {
    const { arena, addrs, lens, sink, b } = this;
    const slot = this.h.slot;
    const astride = b.ADDR;
    for (let i = 0; i < n && !this.closed; i++) {
      const len = lens[i]!;
      if (len < 0) continue; // longer than a slot: counted by the addon (cannot happen with 64 KiB slots)
      const off = i * slot;
      const msg = Buffer.allocUnsafe(len);
      arena.copy(msg, 0, off, off + len);
      const aoff = i * astride;
      const remote = this.remoteAt(aoff, len);
      let out: Buffer | null | Promise<Buffer | null>;
      try {
        out = sink.answer(msg, remote);
      } catch (err) {
        sink.failed(err);
        sink.settled();
        continue;
      }
      if (out === null) sink.settled();
      else if (!isPromise(out)) {
        b.send(this.h, out, addrs, aoff);
        sink.settled();
      } else {
        // The address slot is reused by the next batch: keep a copy for the late reply.
        const addr = Buffer.allocUnsafe(astride);
        addrs.copy(addr, 0, aoff, aoff + astride);
        out.then(
          (wire) => {
            if (wire) this.sendLate(wire, addr);
            sink.settled();
          },
          (err) => {
            sink.failed(err);
            sink.settled();
          },
        );
      }
    }
    // The addon flushes with one sendmmsg when this returns.
  }

  /** A reply that resolved after its batch: queued now, flushed once per loop turn with the others. */
  private sendLate(wire: Buffer, addr: Buffer): void {
    if (this.closed) {
      this.b.send(this.h, wire, addr, 0); // counted as dropped by the addon
      return;
    }
    this.b.send(this.h, wire, addr, 0);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.closed) this.b.flush(this.h);
    });
  }

  private remoteAt(aoff: number, size: number): UdpRemote {
    const a = this.addrs;
    const port = a.readUInt16BE(aoff + 2);
    if ((LITTLE_ENDIAN ? a.readUInt16LE(aoff) : a.readUInt16BE(aoff)) === 2 /* AF_INET */) {
      const v4 = a.readUInt32BE(aoff + 4);
      if (v4 !== this.lastV4) {
        this.lastV4 = v4;
        this.lastV4Text = `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
      }
      return { address: this.lastV4Text, family: 'IPv4', port, size };
    }
    // sockaddr_in6: address at 8..24, scope id at 24..28.
    const key = a.toString('latin1', aoff + 8, aoff + 28);
    if (key !== this.lastV6Key) {
      this.lastV6Key = key;
      this.lastV6Text = this.b.addrName(a, aoff)[0];
    }
    return { address: this.lastV6Text, family: 'IPv6', port, size };
  }
}

/** Datagrams per read on an upstream client socket: replies trickle in, a server's 64 slots would sit idle. */
const CLIENT_BATCH = 16;
/**
 * Bytes per received datagram on a client socket. The forwarder asks
 * upstreams for at most 1232 bytes (512 without EDNS), so a reply never comes
 * near it; one that does is cut, and handed on as a truncated reply (see
 * truncatedReply). Small slots keep a socket's arena at 64 KiB: the pool
 * replaces its sockets often, and 1 MiB arenas cost a memset and GC pressure
 * each time.
 */
export const CLIENT_SLOT = 4096;

/**
 * A reply longer than its slot, as the header and question of its first
 * bytes with TC set and no records: the forwarder then treats it as any
 * truncated UDP reply (TCP retry, or TC to the client). Null when the first
 * bytes hold no header and question.
 */
export function truncatedReply(cut: Buffer): Buffer | null {
  if (cut.length < 12 || cut.readUInt16BE(4) !== 1) return null;
  let o = 12;
  while (o < cut.length && cut[o] !== 0) {
    if (cut[o]! > 63) return null;
    o += cut[o]! + 1;
  }
  if (o + 5 > cut.length) return null;
  const out = Buffer.from(cut.subarray(0, o + 5));
  out[2]! |= 0x02;
  out.fill(0, 6, 12);
  return out;
}

export class NativeUdpClient implements UdpClient {
  readonly path = 'native' as const;
  private readonly h: Handle;
  private readonly arena: Buffer;
  private readonly lens: Int32Array;
  private closed = false;
  private flushQueued = false;

  constructor(
    private readonly b: Binding,
    peer: UdpPeer,
    private readonly handler: UdpClientHandler,
  ) {
    this.h = b.open(peer.family, peer.family === 6 ? '::' : '0.0.0.0', 0, false, 0, 0, (n) => this.onBatch(n), CLIENT_BATCH, CLIENT_SLOT);
    try {
      b.connect(this.h, peer.host, peer.port);
    } catch (err) {
      b.close(this.h);
      throw err;
    }
    ({ arena: this.arena, lens: this.lens } = views(b, this.h));
  }

  send(query: Buffer): void {
    if (this.closed) return;
    this.b.send(this.h, query, null, 0);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.closed) return;
    const errno = this.b.flush(this.h);
    if (errno !== 0) this.handler.error(errnoError(errno, 'send'));
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.b.close(this.h);
  }

  private onBatch(n: number): void {
    // Called without a callback scope (recv.c): the promise jobs this starts run in one setImmediate per loop turn.
    turnEnd();
    if (n < 0) {
      if (!this.closed) this.handler.error(errnoError(-n, 'recv'));
      return;
    }
    const { arena, lens, handler } = this;
    const slot = this.h.slot;
    for (let i = 0; i < n && !this.closed; i++) {
      const len = lens[i]!;
      if (len < 0) {
        // Longer than the slot: its header and question, marked truncated.
        const cut = truncatedReply(arena.subarray(i * slot, (i + 1) * slot));
        if (cut) handler.message(cut);
        continue;
      }
      const msg = Buffer.allocUnsafe(len);
      arena.copy(msg, 0, i * slot, i * slot + len);
      handler.message(msg);
    }
  }
}

let turnQueued = false;
const onTurnEnd = (): void => {
  turnQueued = false;
};

/**
 * Client sockets are called from the poll phase without a callback scope,
 * so nothing they start (promise jobs, nextTicks) would run before the next
 * callback of any kind. One setImmediate per loop turn is that callback: its
 * scope runs them all, for every client socket read in the turn.
 */
function turnEnd(): void {
  if (turnQueued) return;
  turnQueued = true;
  setImmediate(onTurnEnd);
}

/** An Error shaped like libuv's (code "ECONNREFUSED", errno, syscall) for an errno from the addon. */
function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  return err;
}

/** A native client socket connected to `peer`; throws when the addon is missing or the socket cannot be opened. */
export function nativeUdpClient(peer: UdpPeer, handler: UdpClientHandler): NativeUdpClient {
  const b = nativeBinding();
  if (!('binding' in b)) throw new Error(b.reason);
  return new NativeUdpClient(b.binding, peer, handler);
}
