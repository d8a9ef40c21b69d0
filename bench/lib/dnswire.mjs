/**
 * Just enough DNS on the wire to probe a server from the bench: a query with an
 * optional EDNS0 OPT record, and the header counts of the reply.
 */
import dgram from 'node:dgram';

const TYPES = { A: 1, NS: 2, SOA: 6, AAAA: 28, SRV: 33 };

export function encodeQuery(id, name, type, { edns = 1232, rd = false } = {}) {
  const labels = name.replace(/\.$/, '').split('.');
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(rd ? 0x0100 : 0, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(TYPES[type], 0);
  q.writeUInt16BE(1, 2);
  const parts = [header, qname, q];
  if (edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1); // root name (0), TYPE OPT
    opt.writeUInt16BE(edns, 3); // CLASS = UDP payload size
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function decodeHeader(buf) {
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    rcode: flags & 0xf,
    aa: Boolean(flags & 0x0400),
    tc: Boolean(flags & 0x0200),
    qd: buf.readUInt16BE(4),
    an: buf.readUInt16BE(6),
    ns: buf.readUInt16BE(8),
    ar: buf.readUInt16BE(10),
    size: buf.length,
  };
}

/** One UDP query to 127.0.0.1:port; resolves with the reply's header, or null after `timeoutMs`. */
export function query(port, name, type, { timeoutMs = 1000, ...opts } = {}) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.on('error', () => undefined);
    sock.on('message', (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(decodeHeader(msg));
    });
    sock.send(encodeQuery(id, name, type, opts), port, '127.0.0.1');
  });
}

/** Polls until the server on `port` answers `name`/`type` with `until(header)` true; bounded by `timeoutMs`. */
export async function waitForAnswer(port, name, type, { timeoutMs = 30000, intervalMs = 20, until = (h) => h.rcode === 0, rd = false } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = await query(port, name, type, { timeoutMs: 200, rd });
    if (h && until(h)) return h;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`127.0.0.1:${port} did not answer ${name} ${type} within ${timeoutMs} ms`);
}
