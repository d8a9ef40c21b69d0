/**
 * Assembles a running SkyDNS from a loaded Skyfile: the shared registry
 * (created on first use), every plugin's setup in chain order, their start
 * hooks, then the listeners. Stop runs the other way round.
 */
import { systemClock, type Clock } from './clock.js';
import { compose, type ChainLink } from './chain.js';
import type { ChainEntryConfig, SkyConfig } from './config/load.js';
import { joinKey } from './config/locate.js';
import { SkyError, isSkyError } from './errors.js';
import { createLogger, silentLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import type { SetupContext } from './plugin.js';
import { createRegistry } from './registry/create.js';
import type { Registry } from './registry/types.js';
import { serverMetrics } from './server/metrics.js';
import { parseHostPort } from './server/address.js';
import { DnsServer } from './server/server.js';
import { udpPathFor } from './server/udp/choose.js';

/** JSON with sorted keys: equal for equal option objects whatever their key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val,
  );
}

type AppLink = ChainLink & { key: string };

/** A setup error that names a key path gets that key's Skyfile line, as load-time errors do. */
function withLine(err: unknown, config: SkyConfig): unknown {
  if (!isSkyError(err) || !err.path || err.line !== undefined) return err;
  const pos = config.positionOf?.(err.path);
  return pos ? new SkyError(err.code, err.message, { path: err.path, line: pos.line, column: pos.column, cause: err.cause }) : err;
}

/** Two chain entries with the same key can share a plugin instance across a reload. */
function entryKey(e: ChainEntryConfig): string {
  return `${e.name}\u0000${stableJson(e.options)}`;
}

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /**
   * Builds the registry instead of the Skyfile's `registry` section (a worker
   * of a `workers` group mirrors the primary's registry). The app starts it.
   */
  registryFactory?: (ctx: { clock: Clock; logger: Logger }) => Registry;
}

export class SkyApp {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly server: DnsServer;
  readonly metrics: Metrics;
  private links: AppLink[] = [];
  private registryPromise: Promise<Registry> | null = null;
  private registryInstance: Registry | null = null;
  private started = false;
  private stopping = false;
  private readonly registryFactory: AppOptions['registryFactory'];

  constructor(private currentConfig: SkyConfig, opts: AppOptions = {}) {
    const config = currentConfig;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? createLogger(config.log.level, config.log.format);
    this.metrics = opts.metrics ?? new Metrics();
    this.registryFactory = opts.registryFactory;
    this.server = new DnsServer(
      { ...config.dns, listen: [...config.dns.listen], tcp: { ...config.dns.tcp } },
      () => Promise.reject(new Error('not started')),
      this.clock,
      this.logger.child({ component: 'server' }),
    );
    serverMetrics(this.metrics, this.server);
  }

  get config(): SkyConfig {
    return this.currentConfig;
  }

  private set config(c: SkyConfig) {
    this.currentConfig = c;
  }

  /** The shared registry; created and loaded on first call. */
  registry(): Promise<Registry> {
    this.registryPromise ??= (async () => {
      const logger = this.logger.child({ component: 'registry' });
      const r = this.registryFactory
        ? this.registryFactory({ clock: this.clock, logger })
        : createRegistry(this.config.registry as never, { clock: this.clock, logger, baseDir: this.config.baseDir });
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

  private async setupEntry(entry: ChainEntryConfig, index: number, config: SkyConfig): Promise<AppLink> {
    const ctx: SetupContext = {
      name: entry.name,
      index,
      keyPath: joinKey(entry.path, entry.name),
      logger: this.logger.child({ plugin: entry.name }),
      clock: this.clock,
      registry: () => this.registry(),
      listen: config.dns.listen,
      boundAddresses: () => this.server.addresses(),
      baseDir: config.baseDir,
      udpPath: () => this.server.udpPath ?? udpPathFor(config.dns.udp),
      metrics: this.metrics,
      ready: () => this.ready(),
      notReady: () => this.notReady(),
      staleness: () => this.registryInstance?.staleness?.(),
    };
    try {
      return { name: entry.name, plugin: await entry.factory.setup(entry.options, ctx), key: entryKey(entry) };
    } catch (err) {
      if (isSkyError(err)) throw err;
      throw new SkyError('SKY_ERR_PLUGIN_SETUP', `plugin "${entry.name}" (${entry.path}) failed to set up: ${(err as Error).message}`, { path: entry.path, cause: err });
    }
  }

  private install(links: AppLink[]): void {
    this.links = links;
    this.server.setHandler(
      compose(links, (plugin, err, req) => this.logger.error({ err, plugin, name: req.qname, type: req.type }, `plugin ${plugin} failed; answered SERVFAIL`)),
    );
  }

  /**
   * Everything `start` does before it binds or opens anything: the DNS listen
   * addresses parsed and every plugin set up in chain order. `skydns check`
   * runs exactly this (with a throwaway registry), so it rejects what `serve`
   * would reject before binding.
   */
  async prepare(): Promise<void> {
    try {
      for (const [i, s] of this.config.dns.listen.entries()) parseHostPort(s, `dns.listen[${i}]`);
      // The registry section's own checks (ttlMin <= ttlMax, TLS files readable), even when no plugin opens it.
      createRegistry(this.config.registry as never, { clock: this.clock, logger: silentLogger, baseDir: this.config.baseDir });
      for (const [index, entry] of this.config.chain.entries()) {
        this.links.push(await this.setupEntry(entry, index, this.config));
      }
    } catch (err) {
      throw withLine(err, this.config);
    }
  }

  async start(): Promise<void> {
    await this.prepare();
    for (const l of this.links) await l.plugin.start?.();
    this.install(this.links);
    await this.server.start();
    this.started = true;
    this.announceListening(this.links);
  }

  private announceListening(links: readonly AppLink[]): void {
    const addresses = this.server.addresses();
    for (const l of links) {
      if (!l.plugin.listening) continue;
      Promise.resolve()
        .then(() => l.plugin.listening!(addresses))
        .catch((err: unknown) => this.logger.error({ err, plugin: l.name }, 'plugin failed after the listeners opened'));
    }
  }

  /**
   * Swaps in a new, already validated configuration without dropping queries:
   * plugins whose name and options are unchanged keep their instance (the
   * cache keeps its entries, the api its listener); the others are set up
   * anew, the removed ones stopped before the new ones start (so a listener
   * can move to a changed plugin on the same address). DNS listeners whose
   * address did not change stay open. Queries in flight finish on the chain
   * they started on. The registry is kept: a changed `registry` section needs
   * a restart and is reported as such.
   */
  async reload(next: SkyConfig): Promise<void> {
    if (stableJson(next.registry) !== stableJson(this.config.registry)) {
      this.logger.warn('the registry section changed: that needs a restart; keeping the running registry');
    }
    const pool = new Map<string, AppLink[]>();
    for (const l of this.links) pool.set(l.key, [...(pool.get(l.key) ?? []), l]);
    const links: AppLink[] = [];
    const fresh: AppLink[] = [];
    try {
      for (const [index, entry] of next.chain.entries()) {
        const reused = pool.get(entryKey(entry))?.shift();
        if (reused) links.push(reused);
        else {
          const l = await this.setupEntry(entry, index, next);
          fresh.push(l);
          links.push(l);
        }
      }
    } catch (err) {
      for (const l of fresh) await l.plugin.stop?.().catch(() => undefined);
      throw err;
    }
    const removed = [...pool.values()].flat();
    for (const l of removed) await this.stopLink(l);
    for (const l of fresh) await l.plugin.start?.();
    await this.server.reconfigure({ ...next.dns, listen: [...next.dns.listen], tcp: { ...next.dns.tcp } });
    this.install(links);
    this.config = next;
    this.announceListening(fresh);
    this.logger.info({ chain: next.chain.map((e) => e.name), reused: links.length - fresh.length, started: fresh.length, stopped: removed.length }, 'configuration reloaded');
  }

  private async stopLink(l: AppLink): Promise<void> {
    try {
      await l.plugin.stop?.();
    } catch (err) {
      this.logger.error({ err, plugin: l.name }, 'plugin failed to stop');
    }
  }

  ready(): boolean {
    return this.notReady().length === 0;
  }

  /** What keeps the instance from being ready: "starting", "stopping", "registry", "chain[i].name". */
  notReady(): string[] {
    const waiting: string[] = [];
    if (!this.started) waiting.push('starting');
    if (this.stopping) waiting.push('stopping');
    if (this.registryInstance && !this.registryInstance.ready()) waiting.push('registry');
    for (const [i, l] of this.links.entries()) if (l.plugin.ready && !l.plugin.ready()) waiting.push(`chain[${i}].${l.name}`);
    return waiting;
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await this.server.stop(graceMs);
    for (const l of [...this.links].reverse()) await this.stopLink(l);
    if (this.registryPromise) await (await this.registryPromise).close();
  }
}
