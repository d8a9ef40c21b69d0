/**
 * Fuzzing a running server over real sockets. Mutated queries go out over UDP
 * (one socket) or TCP (one pipelined connection), up to `concurrency` awaiting
 * a reply at once. Whether each deserves a reply is predicted with parseQuery:
 * a dropped one must get none, any other exactly one, well-formed (decodes,
 * QR=1, its ID, its question echoed, within the client's size, a sane rcode,
 * never SERVFAIL: the target's plugins must not fail on any question). Every
 * `sentinelEvery` inputs a known name must still resolve. Over TCP, broken
 * framing (a length past the data, a lone byte, an empty frame) is sent on
 * separate connections now and then.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseQuery } from '../../src/dns/query.js';
import { buildQuery, queryTcp, queryUdp, TcpClient } from '../../src/testing/client.js';
import { buildCorpus, SENTINEL } from './corpus.js';
import { Mutator } from './mutate.js';
import { replyProblems } from './wire-checks.js';

export interface ServerFuzzOptions {
  host: string;
  port: number;
  seed: number;
  inputs: number;
  transport: 'udp' | 'tcp';
  concurrency?: number;
  sentinelEvery?: number;
  timeoutMs?: number;
  /** The server's dns.maxUdpSize (default 1232). */
  maxUdpSize?: number;
}

export interface ServerFuzzProblem {
  query: string;
  reply?: string;
  error: string;
}

export interface ServerFuzzResult {
  transport: 'udp' | 'tcp';
  sent: number;
  /** Inputs predicted to get a reply, and the replies that came. */
  expected: number;
  replies: number;
  missing: number;
  unexpected: number;
  problems: ServerFuzzProblem[];
  sentinels: number;
  sentinelFailures: string[];
  framingCases: number;
  ms: number;
}

interface Waiting {
  query: Buffer;
  rcode: number | undefined;
  questionEnd: number | undefined;
  maxSize: number;
  timer: NodeJS.Timeout;
}

const MAX_PROBLEMS = 50;

export async function fuzzServer(o: ServerFuzzOptions): Promise<ServerFuzzResult> {
  const concurrency = o.concurrency ?? 16;
  const sentinelEvery = o.sentinelEvery ?? 250;
  const timeoutMs = o.timeoutMs ?? 2000;
  const udpMax = o.maxUdpSize ?? 1232;
  const res: ServerFuzzResult = { transport: o.transport, sent: 0, expected: 0, replies: 0, missing: 0, unexpected: 0, problems: [], sentinels: 0, sentinelFailures: [], framingCases: 0, ms: 0 };
  const problem = (p: ServerFuzzProblem) => void (res.problems.length < MAX_PROBLEMS && res.problems.push(p));
  const waiting = new Map<number, Waiting>();
  let wake: (() => void) | null = null;
  const settle = () => {
    wake?.();
    wake = null;
  };

  const onReply = (reply: Buffer) => {
    const id = reply.length >= 2 ? reply.readUInt16BE(0) : -1;
    const w = waiting.get(id);
    if (!w) {
      res.unexpected++;
      problem({ query: '', reply: reply.toString('hex'), error: 'a reply nobody waits for (to a query that should have been dropped, or a second reply)' });
      return;
    }
    waiting.delete(id);
    clearTimeout(w.timer);
    res.replies++;
    const errs = replyProblems(w.query, reply, w);
    if (w.rcode === undefined && reply.length >= 4 && (reply[3]! & 0xf) === 2) errs.push('SERVFAIL: a plugin failed on this query');
    for (const error of errs) problem({ query: w.query.toString('hex'), reply: reply.toString('hex'), error });
    settle();
  };

  let send: (b: Buffer) => void;
  let close: () => void;
  if (o.transport === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.on('message', onReply);
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    send = (b) => sock.send(b, o.port, o.host);
    close = () => sock.close();
  } else {
    const c = await TcpClient.connect(o.host, o.port);
    let closing = false;
    let buf = Buffer.alloc(0);
    c.sock.removeAllListeners('data');
    c.sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        onReply(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    c.sock.on('close', () => {
      if (!closing) problem({ query: '', error: 'the server closed the fuzzing TCP connection' });
    });
    send = (b) => {
      const f = Buffer.allocUnsafe(2 + b.length);
      f.writeUInt16BE(b.length, 0);
      b.copy(f, 2);
      c.sock.write(f);
    };
    close = () => {
      closing = true;
      c.close();
    };
  }

  const drain = async (limit: number) => {
    while (waiting.size > limit) await new Promise<void>((r) => (wake = r));
  };
  const t0 = Date.now();
  const mutator = new Mutator(buildCorpus(), o.seed);
  try {
    for (let i = 0; i < o.inputs; i++) {
      const q = mutator.next();
      const id = i & 0xffff;
      if (q.length >= 2) q.writeUInt16BE(id, 0);
      const v = parseQuery(q);
      if (v.kind !== 'drop') {
        await drain(concurrency - 1);
        const tcp = o.transport === 'tcp';
        const w: Waiting =
          v.kind === 'error'
            ? { query: q, rcode: v.query.edns ? v.rcode : v.rcode & 0xf, questionEnd: v.query.questionEnd, maxSize: tcp ? 65535 : 512, timer: undefined as never }
            : { query: q, rcode: undefined, questionEnd: v.query.questionEnd, maxSize: tcp ? 65535 : v.query.edns ? Math.min(v.query.edns.udpSize, udpMax) : 512, timer: undefined as never };
        w.timer = setTimeout(() => {
          waiting.delete(id);
          res.missing++;
          problem({ query: q.toString('hex'), error: `no reply within ${timeoutMs} ms` });
          settle();
        }, timeoutMs);
        waiting.set(id, w);
        res.expected++;
      }
      send(q);
      res.sent++;
      if ((i + 1) % sentinelEvery === 0 || i === o.inputs - 1) {
        await drain(0);
        await sentinel(o, res);
        if (o.transport === 'tcp' && (i + 1) % (sentinelEvery * 2) === 0) await framing(o, res, i);
      }
    }
  } finally {
    for (const w of waiting.values()) clearTimeout(w.timer);
    close();
  }
  res.ms = Date.now() - t0;
  return res;
}

async function sentinel(o: ServerFuzzOptions, res: ServerFuzzResult): Promise<void> {
  res.sentinels++;
  try {
    const a = o.transport === 'udp' ? await queryUdp(o.host, o.port, SENTINEL.name, SENTINEL.type) : await queryTcp(o.host, o.port, SENTINEL.name, SENTINEL.type);
    if (a.rcode !== 0 || !a.answers?.length) res.sentinelFailures.push(`sentinel ${o.transport}: rcode ${a.rcode}, ${a.answers?.length ?? 0} answers`);
  } catch (e) {
    res.sentinelFailures.push(`sentinel ${o.transport}: ${(e as Error).message}`);
  }
}

/** One broken-framing case on its own connection; the server must neither crash nor answer garbage. */
async function framing(o: ServerFuzzOptions, res: ServerFuzzResult, i: number): Promise<void> {
  res.framingCases++;
  const sock = net.connect({ host: o.host, port: o.port });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const q = buildQuery(SENTINEL.name, SENTINEL.type, { id: 4321 });
  const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  const got: Buffer[] = [];
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('error', () => undefined);
  const kind = Math.floor(i / 2) % 3;
  if (kind === 0) sock.end(Buffer.concat([Buffer.from([0xff, 0xff]), q])); // a length past the data
  else if (kind === 1) sock.end(Buffer.from([0x00])); // a lone length byte
  else sock.write(Buffer.concat([frame(Buffer.alloc(0)), frame(q)])); // an empty frame, then a query
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  if (kind === 2) {
    const deadline = Date.now() + (o.timeoutMs ?? 2000);
    while (Buffer.concat(got).length < 14 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    sock.destroy();
  }
  await closed;
  const reply = Buffer.concat(got);
  const ok = kind === 2 ? reply.length >= 14 && reply.readUInt16BE(0) === reply.length - 2 && reply.readUInt16BE(2) === 4321 : reply.length === 0;
  if (!ok) res.problems.push({ query: `framing case ${kind}`, reply: reply.toString('hex'), error: 'unexpected TCP reply to broken framing' });
}
