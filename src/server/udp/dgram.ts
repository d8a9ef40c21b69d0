/**
 * The node:dgram UDP listener: one 'message' event, one rinfo and one
 * Buffer per datagram, one send per reply. Exactly the server's behaviour
 * before the native socket existed; the fallback wherever that is missing.
 */
import dgram from 'node:dgram';
import { isPromise } from '../../chain.js';
import type { UdpBindOptions, UdpClient, UdpClientHandler, UdpCounters, UdpPeer, UdpRemote, UdpSink, UdpSocket } from './socket.js';

export class DgramUdpSocket implements UdpSocket {
  readonly path = 'dgram' as const;

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {}

  /** Binds; rejects with the socket's error (EADDRINUSE, EACCES, ...). */
  static bind(o: UdpBindOptions, sink: UdpSink): Promise<DgramUdpSocket> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: o.family === 6 ? 'udp6' : 'udp4' });
      sock.once('error', reject);
      sock.bind(o.port, o.host, () => {
        sock.removeAllListeners('error');
        sock.on('error', (err) => sink.error(err));
        sock.on('message', (msg, rinfo) => onMessage(sock, sink, msg, rinfo as UdpRemote));
        resolve(new DgramUdpSocket(sock, sock.address().port));
      });
    });
  }

  queued(): number {
    return this.sock.getSendQueueCount();
  }

  counters(): UdpCounters {
    return { dropped: 0 };
  }

  close(): void {
    this.sock.close();
  }
}

/**
 * No send callback: with one, every datagram costs Node a request object and
 * a callback tick (cache hits, server pinned to a CPU: 52–53k QPS without it,
 * 35–52k with it, bench/quick.mjs --pin). The query is settled at once;
 * the server's stop() waits for the send queue to empty before it closes.
 */
function onMessage(sock: dgram.Socket, sink: UdpSink, msg: Buffer, rinfo: UdpRemote): void {
  const out = sink.answer(msg, rinfo);
  if (out === null) sink.settled();
  else if (!isPromise(out)) {
    sock.send(out, rinfo.port, rinfo.address);
    sink.settled();
  } else {
    out.then(
      (wire) => {
        if (wire) sock.send(wire, rinfo.port, rinfo.address);
        sink.settled();
      },
      (err) => {
        sink.failed(err);
        sink.settled();
      },
    );
  }
}

/**
 * A connected client socket on node:dgram: connect() binds port 0 first, so
 * the kernel picks a random free ephemeral port; datagrams written before the
 * connect finished wait for it. One send (and send callback) per datagram.
 */
export class DgramUdpClient implements UdpClient {
  readonly path = 'dgram' as const;
  private readonly sock: dgram.Socket;
  private peer: { address: string; port: number } | null = null;
  private queued: Buffer[] | null = [];
  private closed = false;

  constructor(peer: UdpPeer, private readonly handler: UdpClientHandler) {
    this.sock = dgram.createSocket(peer.family === 6 ? 'udp6' : 'udp4');
    this.sock.on('error', (err) => this.fail(err));
    this.sock.on('message', (msg, rinfo) => {
      // The kernel already filters a connected socket; this check keeps the rule explicit.
      if (this.peer && rinfo.address === this.peer.address && rinfo.port === this.peer.port) handler.message(msg);
    });
    this.sock.connect(peer.port, peer.host, (err?: Error) => {
      if (this.closed) return;
      if (err) return this.fail(err);
      this.peer = this.sock.remoteAddress();
      const q = this.queued!;
      this.queued = null;
      for (const b of q) this.transmit(b);
    });
  }

  send(datagram: Buffer): void {
    if (this.closed) return;
    if (this.queued) this.queued.push(datagram);
    else this.transmit(datagram);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }

  private transmit(datagram: Buffer): void {
    // The callback reports send errors: on a connected socket they include an
    // ICMP error left pending by an earlier datagram.
    this.sock.send(datagram, this.onSent);
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) this.fail(err);
  };

  private fail(err: Error): void {
    if (!this.closed) this.handler.error(err);
  }
}
