/**
 * The catalog plugin object: its own HTTP listener (bound in start, closed in
 * stop) serving the page, the watch stream the page follows, the DNS answers
 * it shows, and deregistration. It answers no DNS itself.
 */
import type { Plugin, SetupContext } from '../../src/plugin.js';
import { HttpEndpoint } from '../../src/http/listener.js';
import { SkyError } from '../../src/errors.js';
import { WatchEndpoint } from '../../src/registry/watch/endpoint.js';
import { watchReport } from '../../src/registry/watch/metrics.js';
import type { Registry } from '../../src/registry/types.js';
import type { HostPort } from '../../src/server/address.js';
import { askDns, loopbackOf } from './dns-ask.js';
import { catalogHandler } from './handler.js';
import { loadStatic } from './static-files.js';

export interface CatalogOptions {
  listen: string;
  /** Zone the DNS names are shown in (the skydns plugin's zone). */
  zone: string;
  /** Needed to deregister from the page; without it anyone who reaches the page can. */
  secret?: string;
  watch: { history: number; maxWatchers: number; keepaliveMs: number };
}

export class CatalogPlugin implements Plugin {
  private readonly http: HttpEndpoint;
  private watch: WatchEndpoint | undefined;
  private registry: Registry | undefined;
  private handler: ReturnType<typeof catalogHandler> | undefined;

  constructor(private readonly opts: CatalogOptions, bind: HostPort, private readonly ctx: SetupContext) {
    this.http = new HttpEndpoint(bind, (req, res) => this.handle(req, res), { what: 'catalog', keyPath: `chain[${ctx.index}].catalog.listen`, logger: ctx.logger });
  }

  private handle(req: Parameters<ReturnType<typeof catalogHandler>>[0], res: Parameters<ReturnType<typeof catalogHandler>>[1]): Promise<void> {
    if (!this.handler) throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the catalog is starting');
    return this.handler(req, res);
  }

  async start(): Promise<void> {
    const { ctx, opts } = this;
    this.registry = await ctx.registry();
    const files = await loadStatic();
    this.watch = new WatchEndpoint(this.registry, { clock: ctx.clock, history: opts.watch.history, maxWatchers: opts.watch.maxWatchers, keepaliveMs: opts.watch.keepaliveMs, report: watchReport(ctx.metrics, 'catalog') });
    this.handler = catalogHandler({
      registry: this.registry,
      clock: ctx.clock,
      logger: ctx.logger,
      watch: this.watch,
      files,
      zone: opts.zone.replace(/\.$/, '').toLowerCase(),
      secret: opts.secret,
      ask: (name, type) => {
        const bound = ctx.boundAddresses()[0];
        if (!bound) throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the DNS listeners are not open yet');
        return askDns(loopbackOf(bound), name, type);
      },
    });
    await this.http.open();
    ctx.logger.info({ address: this.url() }, `catalog page on ${this.url()}/`);
  }

  async stop(): Promise<void> {
    this.watch?.close();
    this.watch = undefined;
    this.handler = undefined;
    await this.http.close();
  }

  ready(): boolean {
    return this.http.isOpen && (this.registry?.ready() ?? false);
  }

  /** The page's base URL, e.g. http://127.0.0.1:8090 (throws before start). */
  url(): string {
    return `http://${this.http.address()}`;
  }
}
