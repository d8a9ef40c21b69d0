/**
 * Assembles a running SkyDNS from a loaded Skyfile: the shared registry
 * (created on first use), every plugin's setup in chain order, their start
 * hooks, then the listeners. Stop runs the other way round.
 */
import { systemClock, type Clock } from './clock.js';
import { compose, type ChainLink } from './chain.js';
import type { SkyConfig } from './config/load.js';
import { SkyError, isSkyError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import type { SetupContext } from './plugin.js';
import { createRegistry } from './registry/create.js';
import type { Registry } from './registry/types.js';
import { DnsServer } from './server/server.js';

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

export class SkyApp {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly server: DnsServer;
  readonly metrics: Metrics;
  private links: ChainLink[] = [];
  private registryPromise: Promise<Registry> | null = null;
  private registryInstance: Registry | null = null;
  private started = false;

  constructor(readonly config: SkyConfig, opts: AppOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? createLogger(config.log.level);
    this.metrics = opts.metrics ?? new Metrics();
    this.server = new DnsServer(
      { ...config.dns, listen: [...config.dns.listen], tcp: { ...config.dns.tcp } },
      () => Promise.reject(new Error('not started')),
      this.clock,
      this.logger.child({ component: 'server' }),
    );
  }

  /** The shared registry; created and loaded on first call. */
  registry(): Promise<Registry> {
    this.registryPromise ??= (async () => {
      const r = createRegistry(this.config.registry as never, {
        clock: this.clock,
        logger: this.logger.child({ component: 'registry' }),
        baseDir: this.config.baseDir,
      });
      await r.start();
      this.registryInstance = r;
      return r;
    })();
    return this.registryPromise;
  }

  /** The registry if some plugin has asked for it. */
  get registryIfOpen(): Registry | null {
    return this.registryInstance;
  }

  get plugins(): readonly ChainLink[] {
    return this.links;
  }

  async start(): Promise<void> {
    for (const [index, entry] of this.config.chain.entries()) {
      const ctx: SetupContext = {
        name: entry.name,
        index,
        logger: this.logger.child({ plugin: entry.name }),
        clock: this.clock,
        registry: () => this.registry(),
        listen: this.config.dns.listen,
        boundAddresses: () => this.server.addresses(),
        baseDir: this.config.baseDir,
        metrics: this.metrics,
        ready: () => this.ready(),
      };
      try {
        const plugin = await entry.factory.setup(entry.options, ctx);
        this.links.push({ name: entry.name, plugin });
      } catch (err) {
        if (isSkyError(err)) throw err;
        throw new SkyError('SKY_ERR_PLUGIN_SETUP', `plugin "${entry.name}" (${entry.path}) failed to set up: ${(err as Error).message}`, { path: entry.path, cause: err });
      }
    }
    for (const l of this.links) await l.plugin.start?.();
    this.server.setHandler(
      compose(this.links, (plugin, err, req) => this.logger.error({ err, plugin, name: req.qname, type: req.type }, `plugin ${plugin} failed; answered SERVFAIL`)),
    );
    await this.server.start();
    this.started = true;
  }

  ready(): boolean {
    const reg = this.registryInstance;
    return this.started && (!reg || reg.ready()) && this.links.every((l) => l.plugin.ready?.() ?? true);
  }

  async stop(graceMs = 5000): Promise<void> {
    await this.server.stop(graceMs);
    for (const l of [...this.links].reverse()) {
      try {
        await l.plugin.stop?.();
      } catch (err) {
        this.logger.error({ err, plugin: l.name }, 'plugin failed to stop');
      }
    }
    if (this.registryPromise) await (await this.registryPromise).close();
  }
}
