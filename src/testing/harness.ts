/**
 * Run one plugin, or a few in a row, on a request built from a name and a
 * type, with no sockets; read the reply as presentation-format strings.
 *
 *   const p = await setupPlugin(myFactory, { zone: 'skydns.local' });
 *   const r = await runPlugin(p, { name: 'web.production.skydns.local', type: 'SRV' });
 *   expectReply(r, { rcode: 'NOERROR', answer: ['web.production.skydns.local. 30 IN SRV 10 100 8080 web1.example.'] });
 */
import assert from 'node:assert/strict';
import { ManualClock, type Clock } from '../clock.js';
import { compose } from '../chain.js';
import { joinKey } from '../config/locate.js';
import { validateAt } from '../config/validate.js';
import { decodeMessage, type DecodedMessage } from '../dns/decode.js';
import { formatRR, normalizeRR } from '../dns/presentation.js';
import { parseQuery } from '../dns/query.js';
import { rcodeName } from '../dns/types.js';
import { silentLogger, type Logger } from '../logger.js';
import { Metrics } from '../metrics.js';
import type { Next, Plugin, PluginFactory, Remote, Reply, SetupContext } from '../plugin.js';
import type { Registry } from '../registry/types.js';
import { QueryRequest } from '../server/request.js';
import { finishReply } from '../server/respond.js';
import { buildQuery, type QueryOptions } from './client.js';

export interface TestQuery extends QueryOptions {
  name: string;
  type: string;
  transport?: 'udp' | 'tcp';
  remote?: Partial<Remote>;
  /** Server's UDP maximum (default 1232). */
  maxUdpSize?: number;
}

/** A request exactly as the server would build it for this query. */
export function makeRequest(q: TestQuery, clock: Clock = new ManualClock()): QueryRequest {
  const raw = buildQuery(q.name, q.type, { id: 4242, ...q });
  const v = parseQuery(raw);
  if (v.kind !== 'ok') throw new Error(`test query does not parse: ${v.reason}`);
  const transport = q.transport ?? 'udp';
  const udpMax = q.maxUdpSize ?? 1232;
  const maxSize = transport === 'tcp' ? 65535 : v.query.edns ? Math.min(v.query.edns.udpSize, udpMax) : 512;
  const remote: Remote = { address: '127.0.0.1', port: 53000, family: 'IPv4', ...q.remote };
  return new QueryRequest(v.query, raw, transport, remote, maxSize, clock.now());
}

/**
 * One query's result as a client sees it, the same shape from `runPlugin`
 * (no sockets) and from `startServer(...).udp()` / `.tcp()` (real sockets),
 * so `expectReply` reads both.
 */
export interface DnsResult {
  /** Rcode name: 'NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', ...; 'DROPPED' when nothing was sent. */
  rcode: string;
  /** The sections as presentation-format lines: `web.skydns.local. 30 IN A 10.0.0.1`. */
  answer: string[];
  ns: string[];
  extra: string[];
  /** The decoded message (flags, questions, edns, records as objects); null when dropped. */
  msg: DecodedMessage | null;
  /** The bytes the client received; null when dropped. */
  wire: Buffer | null;
  dropped: boolean;
}

/** What `runPlugin` returns: the client's view plus the chain's own reply object. */
export interface TestReply extends DnsResult {
  reply: Reply;
}

/** Reads reply bytes into a DnsResult. */
export function readWire(wire: Buffer): DnsResult {
  const msg = decodeMessage(wire);
  return {
    rcode: rcodeName(msg.rcode),
    answer: (msg.answers ?? []).map(formatRR),
    ns: (msg.authorities ?? []).map(formatRR),
    extra: (msg.additionals ?? []).map(formatRR),
    msg,
    wire,
    dropped: false,
  };
}

/** The context a plugin's setup receives, with test defaults (manual clock, silent logger). */
export function testContext(over: Partial<SetupContext> & { registryInstance?: Registry } = {}): SetupContext {
  const { registryInstance, ...rest } = over;
  return {
    name: 'test',
    index: 0,
    keyPath: joinKey(`chain[${rest.index ?? 0}]`, rest.name ?? 'test'),
    logger: silentLogger as Logger,
    clock: new ManualClock(),
    registry: () => (registryInstance ? Promise.resolve(registryInstance) : Promise.reject(new Error('no registry in this test context'))),
    listen: [],
    boundAddresses: () => [],
    baseDir: process.cwd(),
    metrics: new Metrics(),
    ready: () => true,
    ...rest,
  };
}

/** Validates `opts` against the factory's schema (defaults filled, as the Skyfile loader does) and sets it up. */
export async function setupPlugin<O>(factory: PluginFactory<O>, opts: Record<string, unknown> = {}, ctx: Partial<SetupContext> & { registryInstance?: Registry } = {}): Promise<Plugin> {
  const o = structuredClone(opts);
  validateAt(factory.schema, o, factory.name, new Map());
  return factory.setup(o as O, testContext({ name: factory.name, ...ctx }));
}

/**
 * Runs `plugins` as a chain on the query. `next` stands for the rest of the
 * chain after them (default: fall off the end, REFUSED).
 */
export async function runPlugin(plugins: Plugin | Plugin[], q: TestQuery, next?: Next, clock?: Clock): Promise<TestReply> {
  const list = Array.isArray(plugins) ? plugins : [plugins];
  const links = list.map((plugin, i) => ({ name: `plugin${i}`, plugin }));
  if (next) links.push({ name: 'next', plugin: { serveDNS: (r) => next(r) } });
  const errors: unknown[] = [];
  const handler = compose(links, (_n, err) => errors.push(err));
  const req = makeRequest(q, clock);
  const reply = await handler(req);
  if (errors.length) (reply as { errors?: unknown[] }).errors = errors;
  const r = readReply(req, reply, q.maxUdpSize ?? 1232);
  // As the server does after writing: plugins that watch replies (log, metrics) see this one.
  req.responded(
    { rcode: r.msg?.rcode ?? 0, size: r.wire?.length ?? 0, truncated: !!r.msg?.flags.tc, dropped: r.dropped, answerCount: r.msg?.answers?.length ?? 0, durationMs: 0, answeredBy: reply.by },
    (err) => { throw err; },
  );
  return r;
}

export function readReply(req: QueryRequest, reply: Reply, udpMax = 1232): TestReply {
  const out = finishReply(req, reply, udpMax);
  if (!out) return { reply, dropped: true, wire: null, msg: null, rcode: 'DROPPED', answer: [], ns: [], extra: [] };
  return { reply, ...readWire(out.wire) };
}

export interface ExpectedReply {
  rcode?: string;
  answer?: string[];
  ns?: string[];
  extra?: string[];
  aa?: boolean;
  tc?: boolean;
  /** Compare record lists as sets (default: in order). */
  anyOrder?: boolean;
}

/** Asserts a result from `runPlugin` or from a test server's `udp()`/`tcp()`. */
export function expectReply(r: DnsResult, e: ExpectedReply): void {
  if (e.rcode !== undefined) assert.equal(r.rcode, e.rcode, 'rcode');
  const cmp = (actual: string[], expected: string[] | undefined, what: string) => {
    if (!expected) return;
    const a = actual.map(normalizeRR);
    const x = expected.map(normalizeRR);
    if (e.anyOrder) assert.deepEqual([...a].sort(), [...x].sort(), what);
    else assert.deepEqual(a, x, what);
  };
  cmp(r.answer, e.answer, 'answer section');
  cmp(r.ns, e.ns, 'authority section');
  cmp(r.extra, e.extra, 'additional section');
  if (e.aa !== undefined) assert.equal(!!r.msg?.flags.aa, e.aa, 'AA flag');
  if (e.tc !== undefined) assert.equal(!!r.msg?.flags.tc, e.tc, 'TC flag');
}
