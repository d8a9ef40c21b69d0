/**
 * Many DNS queries over one UDP socket, matched to replies by ID: a soak or
 * load client that does not open a socket per query.
 */
import dgram from 'node:dgram';
import { decodeMessage, type DecodedMessage } from '../../src/dns/decode.js';
import { buildQuery } from '../../src/testing/client.js';

interface Waiter {
  resolve: (m: DecodedMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class UdpMux {
  private readonly sock = dgram.createSocket('udp4');
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;

  constructor(readonly host: string, readonly port: number, readonly timeoutMs = 3000) {
    this.sock.on('message', (m) => {
      const w = m.length >= 12 ? this.waiting.get(m.readUInt16BE(0)) : undefined;
      if (!w) return;
      this.waiting.delete(m.readUInt16BE(0));
      clearTimeout(w.timer);
      try {
        w.resolve(decodeMessage(m));
      } catch (e) {
        w.reject(e as Error);
      }
    });
  }

  query(name: string, type: string): Promise<DecodedMessage> {
    let id = this.nextId;
    while (this.waiting.has(id)) id = (id % 65535) + 1;
    this.nextId = (id % 65535) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no reply to ${name} ${type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.sock.send(buildQuery(name, type, { id, edns: { udpSize: 1232 } }), this.port, this.host);
    });
  }

  close(): Promise<void> {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    return new Promise((r) => this.sock.close(() => r()));
  }
}
