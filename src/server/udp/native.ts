/**
 * The native batched UDP listener (native/, Linux): the kernel's datagrams
 * arrive in batches of up to 64 (recvmmsg), JS is called once per batch and
 * reads the payloads, source addresses and lengths from one shared
 * ArrayBuffer; replies are queued in the addon and leave with one sendmmsg
 * per batch. The only importer of the compiled binding.
 *
 * Each datagram is copied out of the shared arena into its own small Buffer
 * before `answer` sees it: a request may outlive the batch (an async chain
 * keeps `req.raw`), and the arena is overwritten by the next batch.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPromise } from '../../chain.js';
import type { UdpBindOptions, UdpCounters, UdpRemote, UdpSink, UdpSocket } from './socket.js';

interface Handle {
  shared: ArrayBuffer;
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
  open(family: number, host: string, port: number, reusePort: boolean, rcvbuf: number, sndbuf: number, onBatch: (count: number) => void): Handle;
  send(h: Handle, buf: Buffer, addr: Buffer, off: number): boolean;
  flush(h: Handle): void;
  close(h: Handle): void;
  queued(h: Handle): number;
  stats(h: Handle): NativeStats;
  local(h: Handle): [string, number];
  addrName(buf: Buffer, off: number): [string, number];
  liveSockets(): number;
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
    this.arena = Buffer.from(this.h.shared, 0, b.ADDRS_OFF);
    this.addrs = Buffer.from(this.h.shared, b.ADDRS_OFF, b.BATCH * b.ADDR);
    this.lens = new Int32Array(this.h.shared, b.LENS_OFF, b.BATCH);
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
    const slot = b.SLOT;
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
