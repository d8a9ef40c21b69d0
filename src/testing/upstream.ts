/**
 * A small DNS server for tests to forward to: UDP and TCP on the same
 * 127.0.0.1 port (port 0), answering from a list of records written in
 * presentation format, and able to misbehave on demand: hold replies until
 * released (a slow server), drop queries, truncate UDP replies, send forged
 * replies first (wrong ID, wrong question, wrong source port), echo the
 * question lowercased, or die mid-test.
 *
 *   const up = await startUpstream({ records: ['example.org. 300 IN A 192.0.2.1'] });
 *   up.set({ spoof: ['id', 'source'] });
 *   ... forward to up.address ...
 *   await up.stop();
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeResponse } from '../dns/encode.js';
import { parseQuery, type ParsedQuery } from '../dns/query.js';
import { Rcode, typeName, type Message, type RR } from '../dns/types.js';

export interface UpstreamQuery extends ParsedQuery {
  transport: 'udp' | 'tcp';
  /** Lowercased question name. */
  name: string;
  type: string;
  raw: Buffer;
  remote: { address: string; port: number };
}

/** What the upstream does with one query. */
export type UpstreamAnswer = Message | { raw: Buffer } | 'drop';

export interface UpstreamBehaviour {
  /** Replaces the record lookup: return a message, exact bytes, or 'drop'. */
  handler?: (q: UpstreamQuery) => UpstreamAnswer | Promise<UpstreamAnswer>;
  /** Never reply. */
  drop: boolean;
  /** Keep replies until `release()` (a slow server, without sleeping). */
  hold: boolean;
  /** UDP replies carry TC=1 and no records (TCP replies are whole). */
  truncateUdp: boolean;
  /** Forged replies sent before the genuine one: wrong ID, another question, or from another port. */
  spoof: ('id' | 'question' | 'source')[];
  /** Echo the question name lowercased (some servers do; the forwarder must restore the client's spelling). */
  lowercaseQuestion: boolean;
  /** Close each TCP connection after this many replies (0: keep it open). */
  tcpRepliesPerConnection: number;
}

export interface UpstreamOptions extends Partial<UpstreamBehaviour> {
  /** Records in presentation format (`example.org. 300 IN A 192.0.2.1`). */
  records?: string[];
  /** SOA put in the authority section of NXDOMAIN and NODATA replies. */
  soa?: string;
  /** Port to bind (default 0: any); e.g. the port of an upstream that died, to bring it back. */
  port?: number;
}

export interface TestUpstream {
  host: string;
  port: number;
  /** "127.0.0.1:port" */
  address: string;
  /** Every query received, in order. */
  readonly queries: UpstreamQuery[];
  /** TCP connections accepted so far. */
  readonly tcpConnections: number;
  set(b: Partial<UpstreamBehaviour>): void;
  /** Sends every held reply. */
  release(): void;
  /** Resolves once `n` queries in all have been received. */
  received(n: number): Promise<void>;
  /** Stops answering: closes the sockets and every TCP connection (an upstream that dies). */
  stop(): Promise<void>;
}

const DEFAULT_SOA = 'example. 3600 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300';
const FORGED_A = '203.0.113.66';

/** The reply for `q` from `records`: answers, NODATA or NXDOMAIN with the SOA. */
export function lookup(records: readonly RR[], soa: RR, q: { name: string; qtype: number }): Message {
  const type = typeName(q.qtype);
  const atName = records.filter((r) => r.name.toLowerCase() === q.name);
  const answers = atName.filter((r) => r.type === type || (q.qtype === 255));
  if (answers.length) return { rcode: Rcode.NOERROR, flags: { aa: true, ra: true }, answers };
  const cname = atName.find((r) => r.type === 'CNAME');
  if (cname) return { rcode: Rcode.NOERROR, flags: { aa: true, ra: true }, answers: [cname] };
  const exists = records.some((r) => { const n = r.name.toLowerCase(); return n === q.name || n.endsWith(`.${q.name}`); });
  return { rcode: exists ? Rcode.NOERROR : Rcode.NXDOMAIN, flags: { aa: true, ra: true }, authorities: [soa] };
}

export async function startUpstream(opts: UpstreamOptions = {}): Promise<TestUpstream> {
  const records = (opts.records ?? []).map(parseRR);
  const soa = parseRR(opts.soa ?? DEFAULT_SOA);
  const b: UpstreamBehaviour = { drop: false, hold: false, truncateUdp: false, spoof: [], lowercaseQuestion: false, tcpRepliesPerConnection: 0, ...opts };
  const queries: UpstreamQuery[] = [];
  const held: (() => void)[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const conns = new Set<net.Socket>();
  let tcpConnections = 0;
  let stopped = false;

  const { udp, tcp } = await bindPair(opts.port ?? 0);
  const port = udp.address().port;
  const forger = dgram.createSocket('udp4');
  await new Promise<void>((r) => forger.bind(0, '127.0.0.1', r));

  /** Encodes `m` as the reply to `q`, fitted to the client's size on UDP. */
  const encode = (q: UpstreamQuery, m: Message): Buffer => {
    const limit = q.transport === 'tcp' ? 65535 : q.edns ? q.edns.udpSize : 512;
    const question = Buffer.from(q.raw.subarray(12, q.questionEnd));
    if (b.lowercaseQuestion) for (let i = 0; i < q.qnameEnd - 12; i++) if (question[i]! >= 0x41 && question[i]! <= 0x5a) question[i]! |= 0x20;
    const msg = q.transport === 'udp' && b.truncateUdp ? { rcode: m.rcode, flags: { ...m.flags, tc: true } } : m;
    const opt = q.edns ? { udpSize: 1232, rcode: m.rcode, do: q.edns.do } : null;
    return encodeResponse({ id: q.id, opcode: 0, rd: q.rd, cd: q.cd, questionRaw: question }, msg, limit, opt).wire;
  };

  /** Forged variants of a genuine reply, sent first (RFC 5452 attacks in miniature). */
  const forgeries = (q: UpstreamQuery): { wire: Buffer; fromOtherPort: boolean }[] => {
    const bogus: Message = { rcode: 0, flags: { ra: true }, answers: [{ name: q.qname, type: 'A', ttl: 300, data: FORGED_A }] };
    const out: { wire: Buffer; fromOtherPort: boolean }[] = [];
    for (const kind of b.spoof) {
      if (kind === 'id') out.push({ wire: encode({ ...q, id: q.id ^ 0x5a5a }, bogus), fromOtherPort: false });
      if (kind === 'source') out.push({ wire: encode(q, bogus), fromOtherPort: true });
      if (kind === 'question') {
        const m = { rcode: 0, answers: [{ name: 'forged.example', type: 'A', ttl: 300, data: FORGED_A }] };
        out.push({ wire: encodeResponse({ id: q.id, opcode: 0, rd: q.rd, cd: q.cd, question: { name: 'forged.example', type: q.qtype, class: q.qclass } }, m, 512, null).wire, fromOtherPort: false });
      }
    }
    return out;
  };

  const answer = async (q: UpstreamQuery, send: (wire: Buffer, fromOtherPort: boolean, genuine: boolean) => void): Promise<void> => {
    queries.push(q);
    for (const w of waiters.filter((x) => queries.length >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    if (b.drop) return;
    const a = b.handler ? await b.handler(q) : lookup(records, soa, q);
    if (a === 'drop') return;
    const wire = 'raw' in a ? a.raw : encode(q, a);
    const go = () => {
      for (const f of forgeries(q)) send(f.wire, f.fromOtherPort, false);
      send(wire, false, true);
    };
    if (b.hold) held.push(go);
    else go();
  };

  const toQuery = (raw: Buffer, transport: 'udp' | 'tcp', remote: { address: string; port: number }): UpstreamQuery | null => {
    const v = parseQuery(raw);
    if (v.kind !== 'ok') return null;
    return { ...v.query, transport, name: v.query.qname.toLowerCase(), type: typeName(v.query.qtype), raw, remote };
  };

  udp.on('message', (raw, rinfo) => {
    const q = toQuery(raw, 'udp', rinfo);
    if (!q) return;
    void answer(q, (wire, other) => (other ? forger : udp).send(wire, rinfo.port, rinfo.address));
  });

  tcp.on('connection', (sock) => {
    tcpConnections++;
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let replies = 0;
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const raw = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + raw.length);
        const q = toQuery(raw, 'tcp', { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 });
        if (!q) continue;
        void answer(q, (wire, other, genuine) => {
          if (other || sock.destroyed) return; // a TCP peer cannot be forged from another port
          const frame = Buffer.alloc(2 + wire.length);
          frame.writeUInt16BE(wire.length, 0);
          wire.copy(frame, 2);
          sock.write(frame);
          if (genuine && b.tcpRepliesPerConnection > 0 && ++replies >= b.tcpRepliesPerConnection) sock.end();
        });
      }
    });
  });

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    queries,
    get tcpConnections() {
      return tcpConnections;
    },
    set(nb) {
      Object.assign(b, nb);
    },
    release() {
      for (const go of held.splice(0)) go();
    },
    received(n) {
      if (queries.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of conns) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      udp.close();
      forger.close();
    },
  };
}

/** UDP and TCP on one port; with port 0 the kernel picks the UDP port and TCP may find it taken: try again. */
async function bindPair(want: number): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(want, '127.0.0.1', () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port: udp.address().port, host: '127.0.0.1', exclusive: true }, () => {
          tcp.removeListener('error', reject);
          resolve();
        });
      });
      return { udp, tcp };
    } catch (err) {
      udp.close();
      if (want !== 0 || attempt >= 20) throw err;
    }
  }
}

/**
 * One record in presentation format: `owner TTL [class] TYPE rdata`, for the
 * types tests use (A, AAAA, CNAME, NS, PTR, MX, SRV, TXT, SOA).
 */
export function parseRR(text: string): RR {
  const words = text.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  const [owner, ttl] = words;
  let i = 2;
  let cls = 'IN';
  if (/^(IN|CH|HS|ANY)$/i.test(words[i] ?? '')) cls = words[i++]!.toUpperCase();
  const type = (words[i++] ?? '').toUpperCase();
  const rd = words.slice(i);
  if (!owner || !/^\d+$/.test(ttl ?? '') || !type) throw new Error(`not a record: ${text}`);
  const name = owner === '.' ? '.' : owner.replace(/\.$/, '');
  const host = (n: string) => (n === '.' ? '.' : n.replace(/\.$/, ''));
  let data: RR['data'];
  switch (type) {
    case 'A': case 'AAAA': data = rd[0]!; break;
    case 'CNAME': case 'NS': case 'PTR': data = host(rd[0]!); break;
    case 'MX': data = { preference: Number(rd[0]), exchange: host(rd[1]!) }; break;
    case 'SRV': data = { priority: Number(rd[0]), weight: Number(rd[1]), port: Number(rd[2]), target: host(rd[3]!) }; break;
    case 'TXT': data = rd.map((w) => w.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1')); break;
    case 'SOA': data = { mname: host(rd[0]!), rname: host(rd[1]!), serial: Number(rd[2]), refresh: Number(rd[3]), retry: Number(rd[4]), expire: Number(rd[5]), minimum: Number(rd[6]) }; break;
    default: throw new Error(`parseRR: type ${type} is not supported: ${text}`);
  }
  return { name, type, class: cls, ttl: Number(ttl), data };
}
