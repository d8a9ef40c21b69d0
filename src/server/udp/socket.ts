/**
 * One UDP listener, two implementations: the native batched socket
 * (native.ts: recvmmsg/sendmmsg on Node's own loop, Linux) and node:dgram
 * (dgram.ts, the fallback, and the behaviour SkyDNS always had). The server
 * gives a socket a `UdpSink`; the socket calls `answer` for each datagram,
 * sends the reply it gets back (now, or when the promise resolves), and calls
 * `settled` once per datagram whatever happened to it.
 */
import type { Remote } from '../../plugin.js';

export type UdpPath = 'native' | 'dgram';

/** A datagram's source, as node:dgram's rinfo (same shape, same property order). */
export interface UdpRemote extends Remote {
  size: number;
}

export interface UdpSink {
  /** The reply for one datagram: bytes, null (send nothing), or a promise of either. Never throws. */
  answer(msg: Buffer, remote: UdpRemote): Buffer | null | Promise<Buffer | null>;
  /** Called once per datagram after its reply was handed to the socket, or dropped, or failed. */
  settled(): void;
  /** A promise from `answer` rejected (a bug: answer catches what it can). */
  failed(err: unknown): void;
  /** The socket reported an error (it keeps serving). */
  error(err: Error): void;
}

export interface UdpCounters {
  /** Replies that never left: queue full, socket closed before they were sent, refused by the kernel. */
  dropped: number;
}

export interface UdpSocket {
  readonly path: UdpPath;
  /** The bound port (with port 0, the one the kernel chose). */
  readonly port: number;
  /** Replies handed to the socket and not yet sent (stop() waits for 0). */
  queued(): number;
  counters(): UdpCounters;
  close(): void;
}

export interface UdpBindOptions {
  host: string;
  port: number;
  family: 4 | 6;
  /** SO_REUSEPORT (native only): every worker of a `workers` group owns a socket on the same port. */
  reusePort?: boolean;
  /** SO_SNDBUF / SO_RCVBUF in bytes (native only; 0 or absent: the system's default). */
  sendBufferSize?: number;
  recvBufferSize?: number;
}

/** Where a client socket sends (numeric address). */
export interface UdpPeer {
  host: string;
  port: number;
  family: 4 | 6;
}

export interface UdpClientHandler {
  /** A datagram from the peer (the kernel delivers nothing else to a connected socket). */
  message(msg: Buffer): void;
  /** A socket error: failed connect, an ICMP error from the peer surfaced on send or receive. */
  error(err: Error): void;
}

/**
 * A connected UDP client socket on a random ephemeral port (forward's
 * upstream sockets): native (native.ts) or node:dgram (dgram.ts). `send` may
 * be called at once; what it sends leaves in order.
 */
export interface UdpClient {
  readonly path: UdpPath;
  send(datagram: Buffer): void;
  close(): void;
}
