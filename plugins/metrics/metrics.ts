/**
 * The metrics plugin: it passes every query on and, once the reply is
 * written, counts it (by type and transport, by rcode and answering plugin)
 * and records its duration and sizes. Its own HTTP listener serves the app's
 * whole registry (every plugin's metrics) in the Prometheus text format.
 */
import { readFileSync } from 'node:fs';
import type { Counter, Histogram } from 'prom-client';
import { rcodeName } from '../../src/dns/types.js';
import { HttpEndpoint, onlyGet, pathOf, send } from '../../src/http/listener.js';
import type { Metrics } from '../../src/metrics.js';
import type { Next, Plugin, Reply, Request, ResponseInfo, SetupContext } from '../../src/plugin.js';
import type { HostPort } from '../../src/server/address.js';
import { processMetrics } from './process.js';

export interface MetricsOptions {
  listen: string;
  path: string;
  process: boolean;
}

/** Latency buckets, seconds: 0.25 ms doubling to ~8 s (as CoreDNS). */
export const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
/** Message size buckets, bytes: the classic UDP limits, then TCP sizes (as CoreDNS). */
export const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000];

/** Unknown types (`TYPE65280`) share one label value, so a client cannot make 65536 series. */
export function typeLabel(type: string): string {
  return /^TYPE\d+$/.test(type) ? 'other' : type;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface DnsMetrics {
  requests: Counter<'type' | 'transport'>;
  responses: Counter<'rcode' | 'plugin'>;
  duration: Histogram<'transport'>;
  requestSize: Histogram<'transport'>;
  responseSize: Histogram<'transport'>;
}

/** The query metrics, created once per app (a reloaded plugin keeps counting into the same series). */
export function dnsMetrics(m: Metrics): DnsMetrics {
  return {
    requests: m.counter('dns_requests_total', 'DNS queries handled, by question type and transport.', ['type', 'transport']),
    responses: m.counter('dns_responses_total', 'DNS replies, by rcode (DROPPED when none was sent) and the plugin that produced them.', ['rcode', 'plugin']),
    duration: m.histogram('dns_request_duration_seconds', 'Time from receiving a query to writing its reply, seconds.', ['transport'], DURATION_BUCKETS),
    requestSize: m.histogram('dns_request_size_bytes', 'Size of DNS queries, bytes.', ['transport'], SIZE_BUCKETS),
    responseSize: m.histogram('dns_response_size_bytes', 'Size of DNS replies as written (after truncation), bytes.', ['transport'], SIZE_BUCKETS),
  };
}

export class MetricsPlugin implements Plugin {
  private readonly m: DnsMetrics;
  private readonly http: HttpEndpoint;

  constructor(private readonly opts: MetricsOptions, bind: HostPort, private readonly ctx: SetupContext) {
    this.m = dnsMetrics(ctx.metrics);
    const registry = ctx.metrics.registry;
    this.http = new HttpEndpoint(
      bind,
      async (req, res) => {
        if (pathOf(req) !== opts.path) return send(req, res, 404, `not found; metrics are at ${opts.path}\n`);
        if (!onlyGet(req, res)) return;
        send(req, res, 200, await ctx.metrics.scrape(), registry.contentType);
      },
      { what: 'metrics', keyPath: `chain[${ctx.index}].${ctx.name}.listen`, logger: ctx.logger },
    );
    ctx.metrics.gauge('build_info', 'Always 1; the labels say which SkyDNS and Node.js run.', ['version', 'node']).set({ version: packageVersion(), node: process.versions.node }, 1);
    if (opts.process) processMetrics(ctx.metrics);
  }

  serveDNS(req: Request, next: Next): Reply | Promise<Reply> {
    req.onResponse((info) => this.observe(req, info));
    return next();
  }

  observe(req: Request, info: ResponseInfo): void {
    const transport = req.transport;
    this.m.requests.inc({ type: typeLabel(req.type), transport });
    this.m.requestSize.observe({ transport }, req.raw.length);
    this.m.responses.inc({ rcode: info.dropped ? 'DROPPED' : rcodeName(info.rcode), plugin: info.answeredBy ?? '' });
    this.m.duration.observe({ transport }, info.durationMs / 1000);
    if (!info.dropped) this.m.responseSize.observe({ transport }, info.size);
  }

  async start(): Promise<void> {
    await this.http.open();
    this.ctx.logger.info({ address: this.url() }, `metrics on ${this.url()}`);
  }

  stop(): Promise<void> {
    return this.http.close();
  }

  ready(): boolean {
    return this.http.isOpen;
  }

  /** The bound address as host:port; throws before start. */
  address(): string {
    return this.http.address();
  }

  /** The scrape URL, e.g. http://127.0.0.1:9153/metrics. */
  url(): string {
    return `http://${this.address()}${this.opts.path}`;
  }
}
