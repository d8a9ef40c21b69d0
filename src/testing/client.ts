/**
 * A small DNS client for tests and tools: UDP and TCP (several queries on one
 * connection), over real sockets on loopback.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { isIP } from 'node:net';
import { decodeMessage, encodeQuery, type DecodedMessage } from '../dns/decode.js';

export interface QueryOptions {
  id?: number;
  class?: string;
  rd?: boolean;
  cd?: boolean;
  /** EDNS: a UDP size (and DO), or null/undefined for a query without OPT. */
  edns?: { udpSize: number; do?: boolean; version?: number } | null;
  timeoutMs?: number;
}

export interface Answer extends DecodedMessage {
  raw: Buffer;
}

export function buildQuery(name: string, type: string, o: QueryOptions = {}): Buffer {
  return encodeQuery({ id: o.id ?? Math.floor(Math.random() * 65536), name, type, class: o.class ?? 'IN', rd: o.rd ?? true, cd: o.cd ?? false, edns: o.edns ?? null });
}

/** Sends raw bytes over UDP; resolves with the raw reply, or null after `timeoutMs` without one. */
export function sendUdp(host: string, port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.once('message', (reply) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send(msg, port, host);
  });
}

export async function queryUdp(host: string, port: number, name: string, type: string, o: QueryOptions = {}): Promise<Answer> {
  const raw = await sendUdp(host, port, buildQuery(name, type, o), o.timeoutMs);
  if (!raw) throw new Error(`no UDP reply from ${host}:${port} for ${name} ${type}`);
  return { ...decodeMessage(raw), raw };
}

/** A TCP connection that sends length-prefixed queries and matches replies by ID. */
export class TcpClient {
  private buf = Buffer.alloc(0);
  private waiting = new Map<number, (b: Buffer) => void>();
  readonly closed: Promise<void>;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0);
        const msg = this.buf.subarray(2, 2 + len);
        this.buf = this.buf.subarray(2 + len);
        const id = msg.readUInt16BE(0);
        const w = this.waiting.get(id);
        if (w) {
          this.waiting.delete(id);
          w(Buffer.from(msg));
        }
      }
    });
    this.closed = new Promise((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
  }

  static connect(host: string, port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port }, () => resolve(new TcpClient(sock)));
      sock.once('error', reject);
    });
  }

  /** Sends raw bytes (no length prefix); resolves with the reply carrying the same ID. */
  send(msg: Buffer, timeoutMs = 2000): Promise<Buffer> {
    const id = msg.readUInt16BE(0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no TCP reply for id ${id}`));
      }, timeoutMs);
      this.waiting.set(id, (b) => {
        clearTimeout(timer);
        resolve(b);
      });
      const frame = Buffer.alloc(2 + msg.length);
      frame.writeUInt16BE(msg.length, 0);
      msg.copy(frame, 2);
      this.sock.write(frame);
    });
  }

  async query(name: string, type: string, o: QueryOptions = {}): Promise<Answer> {
    const raw = await this.send(buildQuery(name, type, o), o.timeoutMs);
    return { ...decodeMessage(raw), raw };
  }

  close(): void {
    this.sock.destroy();
  }
}

export async function queryTcp(host: string, port: number, name: string, type: string, o: QueryOptions = {}): Promise<Answer> {
  const c = await TcpClient.connect(host, port);
  try {
    return await c.query(name, type, o);
  } finally {
    c.close();
  }
}
