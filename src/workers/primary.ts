/**
 * The primary of a `workers` group (Skyfile `workers` > 1): it owns what
 * must have exactly one owner and forks the processes that serve DNS.
 *
 * - The registry: opened here from the Skyfile's `registry` section (the
 *   embedded data directory has one owner process; etcd gets one mirror and
 *   one lease keeper) and served to the workers by a RegistryHost.
 * - Callbacks fire here, once per removal, with the api plugin's callback
 *   options (workers never fire them: WorkerRegistry is never the leader).
 * - Workers: N node:cluster workers, each a whole SkyApp (see worker.ts). A
 *   worker that cannot start at launch (say, SKY_ERR_LISTEN) stops the group
 *   with its error. One that dies later is logged and forked again into the
 *   same slot after a backoff that doubles with each quick death (capped),
 *   so a crash loop does not spin.
 * - Reload (SIGHUP, Skyfile change): the primary validates the file, then
 *   sends the text to every worker, which reloads its own SkyApp; a Skyfile
 *   that does not validate is logged and the workers keep their configuration.
 * - SIGTERM/SIGINT: every worker finishes what is in flight and exits
 *   (bounded by shutdown.graceMs), then the registry is flushed and closed.
 * - Metrics: scrapes in any worker are answered with the group's aggregate.
 *
 * The primary itself answers no DNS.
 */
import cluster, { type Worker } from 'node:cluster';
import { dirname, resolve } from 'node:path';
import { systemClock } from '../clock.js';
import { parseSkyfile, readSkyfile, type SkyConfig } from '../config/load.js';
import type { Logger } from '../logger.js';
import { CallbackNotifier } from '../registry/callbacks.js';
import { createRegistry } from '../registry/create.js';
import { callbackLeadership } from '../registry/etcd-election.js';
import { workerChannel, type Channel, type SkyMessage } from '../registry/ipc-channel.js';
import { RegistryHost } from '../registry/ipc-host.js';
import type { Registry } from '../registry/types.js';
import { CONTROL, describeFailure, failureFromWire, type WireFailure } from './control.js';
import { MetricsAggregator } from './metrics.js';
import { SLOT_ENV } from './worker.js';

/** First re-fork delay; doubles per quick death up to MAX_BACKOFF_MS. */
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;
/** A worker that served this long before dying restarts its backoff from the base. */
const STABLE_MS = 10_000;
/** How long a reload waits for every worker's answer. */
const RELOAD_TIMEOUT_MS = 30_000;

interface Slot {
  slot: number;
  worker: Worker | undefined;
  channel: Channel | undefined;
  state: 'starting' | 'up' | 'down';
  startedAt: number;
  quickDeaths: number;
  timer: NodeJS.Timeout | undefined;
  /** Settles the launch wait: undefined when started, the error when it failed. */
  launched: ((err: Error | undefined) => void) | undefined;
}

interface CallbackConfig {
  secret?: string;
  callbacks?: { timeoutMs?: number; retries?: number; backoffMs?: number; allowNetworks?: string[] };
}

export class Primary {
  private readonly slots: Slot[] = [];
  private registry: Registry | undefined;
  private host: RegistryHost | undefined;
  private notifier: CallbackNotifier | undefined;
  private notifierKey = '';
  private offLeadership: (() => void) | undefined;
  private readonly metrics: MetricsAggregator;
  private stopping = false;
  private nextReload = 1;
  /** Texts of configurations loaded by `load`, so `reload` can hand the very text to the workers. */
  private readonly texts = new WeakMap<SkyConfig, string>();

  constructor(
    private currentConfig: SkyConfig,
    private text: string,
    readonly count: number,
    readonly logger: Logger,
  ) {
    this.metrics = new MetricsAggregator(() => this.slots.flatMap((s) => (s.channel && s.state === 'up' ? [s.channel] : [])), logger);
  }

  get config(): SkyConfig {
    return this.currentConfig;
  }

  /** Loads and validates a Skyfile, remembering its text (the Reloader's loader). */
  readonly load = async (file: string): Promise<SkyConfig> => {
    const text = await readSkyfile(file);
    const cfg = await parseSkyfile(text, { baseDir: dirname(resolve(file)), file });
    this.texts.set(cfg, text);
    return cfg;
  };

  /** Opens the registry and forks the workers; rejects with the first worker's start error. */
  async start(): Promise<void> {
    const cfg = this.config;
    this.registry = createRegistry(cfg.registry as never, { clock: systemClock, logger: this.logger.child({ component: 'registry' }), baseDir: cfg.baseDir });
    await this.registry.start();
    this.host = new RegistryHost(this.registry, { logger: this.logger.child({ component: 'registry-host' }) });
    this.updateNotifier(cfg);
    cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2) });
    const launches: Array<Promise<Error | undefined>> = [];
    for (let i = 1; i <= this.count; i++) {
      const s: Slot = { slot: i, worker: undefined, channel: undefined, state: 'down', startedAt: 0, quickDeaths: 0, timer: undefined, launched: undefined };
      this.slots.push(s);
      launches.push(new Promise((r) => (s.launched = r)));
      this.fork(s);
    }
    const failures = (await Promise.all(launches)).filter((e): e is Error => e !== undefined);
    if (failures.length) {
      this.logger.error({ failed: failures.length, workers: this.count }, `workers could not start: ${describeFailure(failures[0])}`);
      await this.stop(0);
      throw failures[0];
    }
  }

  /** The DNS addresses the workers serve (from the first worker's report). */
  addresses: string[] = [];
  /** The UDP path the workers serve on (from the first worker's report). */
  udpPath: 'native' | 'dgram' | undefined;

  private fork(s: Slot): void {
    s.timer = undefined;
    s.state = 'starting';
    const w = cluster.fork({ [SLOT_ENV]: String(s.slot) });
    const ch = workerChannel(w);
    s.worker = w;
    s.channel = ch;
    this.host!.attach(ch);
    this.metrics.attach(ch);
    let failure: Error | undefined;
    ch.onMessage((m: SkyMessage) => {
      if (m.sky !== CONTROL) return;
      if (m.op === 'config?') ch.send({ sky: CONTROL, op: 'config', text: this.text });
      else if (m.op === 'started') {
        s.state = 'up';
        s.startedAt = Date.now();
        if (Array.isArray(m.addresses)) this.addresses = m.addresses as string[];
        if (m.udp === 'native' || m.udp === 'dgram') this.udpPath = m.udp;
        this.logger.info({ worker: s.slot, pid: w.process.pid }, 'worker started');
        s.launched?.(undefined);
        s.launched = undefined;
      } else if (m.op === 'failed') {
        failure = failureFromWire(m.error as WireFailure, `worker ${s.slot} could not start`);
      }
    });
    w.on('exit', (code, signal) => this.onExit(s, w, code, signal, failure));
    w.on('error', (err) => this.logger.warn({ err, worker: s.slot }, 'worker channel error'));
  }

  private onExit(s: Slot, w: Worker, code: number | null, signal: string | null, failure: Error | undefined): void {
    if (s.worker !== w) return;
    const wasUp = s.state === 'up';
    s.state = 'down';
    s.worker = undefined;
    s.channel = undefined;
    if (s.launched) {
      s.launched(failure ?? new Error(`worker ${s.slot} exited (${signal ?? `code ${code}`}) before it started`));
      s.launched = undefined;
      return;
    }
    if (this.stopping) return;
    const lived = wasUp ? Date.now() - s.startedAt : 0;
    s.quickDeaths = lived >= STABLE_MS ? 0 : s.quickDeaths + 1;
    const delay = Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, s.quickDeaths - 1), MAX_BACKOFF_MS);
    this.logger.error(
      { worker: s.slot, pid: w.process.pid, code, signal, error: failure ? describeFailure(failure) : undefined, restartInMs: delay },
      `worker ${s.slot} died (${signal ?? `exit code ${code}`}); forking it again in ${delay} ms`,
    );
    s.timer = setTimeout(() => {
      if (!this.stopping) this.fork(s);
    }, delay);
  }

  /** Hands a validated configuration to every worker; rejects if any worker could not apply it. */
  async reload(next: SkyConfig): Promise<void> {
    const text = this.texts.get(next);
    if (text === undefined) throw new Error('reload needs a configuration loaded by the primary');
    if (next.workers !== this.config.workers) this.logger.warn({ running: this.count }, 'the workers key changed: that needs a restart; keeping the running workers');
    const up = this.slots.filter((s) => s.state === 'up' && s.channel);
    const answers = await Promise.all(up.map((s) => this.reloadOne(s, text)));
    const failed = answers.filter((a): a is { slot: number; err: Error } => a !== undefined);
    if (failed.length < up.length || up.length === 0) {
      // At least one worker runs it (or none is up to run anything): it is the configuration now, also for re-forks.
      this.text = text;
      this.currentConfig = next;
      this.updateNotifier(next);
    }
    if (failed.length) {
      for (const f of failed) this.logger.error({ worker: f.slot, error: describeFailure(f.err) }, `worker ${f.slot} did not apply the reloaded Skyfile`);
      throw failed[0]!.err;
    }
    this.logger.info({ workers: up.length }, 'every worker reloaded');
  }

  private reloadOne(s: Slot, text: string): Promise<{ slot: number; err: Error } | undefined> {
    const id = this.nextReload++;
    const ch = s.channel!;
    return new Promise((resolveOne) => {
      const t = setTimeout(() => done({ slot: s.slot, err: new Error(`worker ${s.slot} did not answer the reload within ${RELOAD_TIMEOUT_MS} ms`) }), RELOAD_TIMEOUT_MS);
      const done = (v: { slot: number; err: Error } | undefined): void => {
        clearTimeout(t);
        off();
        offClose();
        resolveOne(v);
      };
      const off = ch.onMessage((m) => {
        if (m.sky !== CONTROL || m.op !== 'reloaded' || m.id !== id) return;
        done(m.error ? { slot: s.slot, err: failureFromWire(m.error as WireFailure, `worker ${s.slot} reload`) } : undefined);
      });
      // A worker that dies mid-reload is re-forked with the new text if another worker took it.
      const offClose = ch.onClose(() => done(undefined));
      if (!ch.send({ sky: CONTROL, op: 'reload', id, text })) done(undefined);
    });
  }

  /** Stops every worker (each finishes its queries in flight), then closes the registry. */
  async stop(graceMs = this.config.shutdown.graceMs): Promise<void> {
    this.stopping = true;
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
    }
    const live = this.slots.flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
    const exits = live.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    for (const w of live) w.send({ sky: CONTROL, op: 'stop', graceMs }, undefined, {}, () => undefined);
    let t: NodeJS.Timeout | undefined;
    const all = Promise.all(exits).then(() => true);
    const inTime = await Promise.race([all, new Promise<boolean>((r) => (t = setTimeout(() => r(false), graceMs + 5000)))]);
    clearTimeout(t);
    if (!inTime) {
      for (const w of live) {
        if (!w.isDead()) {
          this.logger.warn({ pid: w.process.pid }, 'worker did not stop in time; killing it');
          w.process.kill('SIGKILL');
        }
      }
      await all;
    }
    this.offLeadership?.();
    await this.notifier?.close();
    this.host?.close();
    if (this.registry) {
      await this.registry.flush().catch((err: unknown) => this.logger.error({ err }, 'registry flush failed at shutdown'));
      await this.registry.close();
    }
  }

  /** Runs the callback notifier with the api plugin's callback options (none without an api entry). */
  private updateNotifier(cfg: SkyConfig): void {
    const api = cfg.chain.find((e) => e.name === 'api')?.options as CallbackConfig | undefined;
    const key = JSON.stringify(api ? { secret: api.secret, callbacks: api.callbacks } : null);
    if (key === this.notifierKey) return;
    this.notifierKey = key;
    this.offLeadership?.();
    this.offLeadership = undefined;
    const old = this.notifier;
    this.notifier = undefined;
    void old?.close();
    if (!api || !this.registry) return;
    const notifier = new CallbackNotifier(this.registry, {
      clock: systemClock,
      logger: this.logger.child({ component: 'callbacks' }),
      timeoutMs: api.callbacks?.timeoutMs,
      retries: api.callbacks?.retries,
      backoffMs: api.callbacks?.backoffMs,
      secret: api.secret,
      allowNetworks: api.callbacks?.allowNetworks,
    });
    const lead = callbackLeadership(this.registry);
    if (lead) {
      notifier.enabled = lead.isCallbackLeader();
      this.offLeadership = lead.onCallbackLeadership((leader) => (notifier.enabled = leader));
    }
    this.notifier = notifier;
  }
}
