/**
 * The api plugin object: it owns an HTTP listener (bound in start, closed in
 * stop) and the CallbackNotifier; it answers no DNS, so serveDNS passes on.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SkyError } from '../../src/errors.js';
import type { Plugin, SetupContext } from '../../src/plugin.js';
import { CallbackNotifier } from '../../src/registry/callbacks.js';
import { callbackLeadership } from '../../src/registry/etcd-election.js';
import { instrumentRegistry } from '../../src/registry/metrics.js';
import { watchReport } from '../../src/registry/watch/metrics.js';
import type { Registry } from '../../src/registry/types.js';
import { formatHostPort, type HostPort } from '../../src/server/address.js';
import { buildApi } from './server.js';

export interface ApiOptions {
  listen: string;
  secret?: string;
  bodyLimit: number;
  callbacks: {
    timeoutMs: number;
    retries: number;
    backoffMs: number;
    allowNetworks?: string[];
  };
  /** Serve HTTPS: PEM files, relative to the Skyfile's directory. */
  tls?: { cert: string; key: string };
  /** Largest request line plus headers, bytes. */
  maxHeaderSize: number;
  /** Per-client limit on PUT and PATCH; none when absent. */
  rateLimit?: { perSecond: number; burst: number; maxClients: number };
  /** The watch API (GET /skydns/watch). */
  watch: { history: number; maxWatchers: number; keepaliveMs: number };
}

export class ApiPlugin implements Plugin {
  private app: FastifyInstance | undefined;
  private notifier: CallbackNotifier | undefined;
  private registry: Registry | undefined;
  private bound: HostPort | undefined;
  private offLeadership: (() => void) | undefined;

  constructor(private readonly opts: ApiOptions, private readonly bind: HostPort, private readonly ctx: SetupContext) {}

  async start(): Promise<void> {
    const { ctx, opts } = this;
    this.registry = await ctx.registry();
    instrumentRegistry(ctx.metrics, this.registry);
    this.notifier = new CallbackNotifier(this.registry, {
      clock: ctx.clock,
      logger: ctx.logger,
      timeoutMs: opts.callbacks.timeoutMs,
      retries: opts.callbacks.retries,
      backoffMs: opts.callbacks.backoffMs,
      // The receiver can tell the call comes from this server; and no call leaves the allowed networks.
      secret: opts.secret,
      allowNetworks: opts.callbacks.allowNetworks,
    });
    // In a cluster (etcd) every node sees every removal: only the node elected through etcd fires callbacks.
    const lead = callbackLeadership(this.registry);
    if (lead) {
      const notifier = this.notifier;
      notifier.enabled = lead.isCallbackLeader();
      this.offLeadership = lead.onCallbackLeadership((leader) => {
        notifier.enabled = leader;
      });
    }
    const tls = opts.tls ? await this.readTls(opts.tls) : undefined;
    try {
      this.app = await buildApi({
        registry: this.registry,
        clock: ctx.clock,
        logger: ctx.logger,
        secret: opts.secret,
        bodyLimit: opts.bodyLimit,
        allowNetworks: opts.callbacks.allowNetworks,
        maxHeaderSize: opts.maxHeaderSize,
        watch: { ...opts.watch, report: watchReport(ctx.metrics, 'api') },
        ...(tls ? { tls } : {}),
        ...(opts.rateLimit ? { writeLimit: opts.rateLimit } : {}),
      });
    } catch (err) {
      await this.stop();
      if (!tls) throw err;
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `api TLS certificate and key are not usable: ${(err as Error).message}`, { path: `chain[${ctx.index}].api.tls`, cause: err });
    }
    try {
      await this.app.listen({ host: this.bind.host, port: this.bind.port });
    } catch (err) {
      await this.stop();
      throw new SkyError('SKY_ERR_LISTEN', `api could not listen on ${opts.listen}: ${(err as Error).message}`, { path: `chain[${ctx.index}].api.listen`, cause: err });
    }
    const a = this.app.server.address();
    if (a === null || typeof a === 'string') throw new SkyError('SKY_ERR_LISTEN', `api listener on ${opts.listen} has no TCP address`);
    this.bound = { host: a.address, port: a.port, family: a.family === 'IPv6' ? 6 : 4 };
    ctx.logger.info({ address: this.url(), secret: opts.secret !== undefined }, `api listening on ${this.url()}`);
  }

  /** Reads the PEM files named in `tls` (relative to the Skyfile's directory). */
  private async readTls(t: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
    const out: Record<string, Buffer> = {};
    for (const k of ['cert', 'key'] as const) {
      try {
        out[k] = await readFile(resolve(this.ctx.baseDir, t[k]));
      } catch (err) {
        await this.stop();
        throw new SkyError('SKY_ERR_CONFIG_INVALID', `api TLS ${k} file ${t[k]} cannot be read: ${(err as Error).message}`, { path: `chain[${this.ctx.index}].api.tls.${k}`, cause: err });
      }
    }
    return { cert: out.cert!, key: out.key! };
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    this.bound = undefined;
    await app?.close();
    this.offLeadership?.();
    this.offLeadership = undefined;
    await this.notifier?.close();
    this.notifier = undefined;
  }

  ready(): boolean {
    return this.bound !== undefined && (this.registry?.ready() ?? false);
  }

  /** The bound address as host:port ([v6]:port); throws before start. */
  address(): string {
    if (!this.bound) throw new SkyError('SKY_ERR_LISTEN', 'the api plugin is not listening');
    return formatHostPort(this.bound.host, this.bound.port);
  }

  /** Base URL of the API, e.g. http://127.0.0.1:8080 (https with `tls`). */
  url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.address()}`;
  }

  /** The fastify instance while started (for inject() in tests). */
  get http(): FastifyInstance | undefined {
    return this.app;
  }

  /** The callback notifier while started (tests await its deliveries with idle()). */
  get callbacks(): CallbackNotifier | undefined {
    return this.notifier;
  }
}
