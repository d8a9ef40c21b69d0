/**
 * What makes a running server pick up a changed Skyfile: SIGHUP, and (with
 * `reload.watch`) a change to the file on disk, debounced. A Skyfile that does
 * not load is logged with its code, key path and line, and the server keeps
 * running the configuration it has.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadSkyfile, type SkyConfig } from '../config/load.js';
import { isSkyError } from '../errors.js';
import type { Logger } from '../logger.js';

/** What a Reloader drives: a SkyApp, or the primary of a `workers` group. */
export interface Reloadable {
  readonly config: SkyConfig;
  readonly logger: Logger;
  reload(next: SkyConfig): Promise<void>;
}

export class Reloader {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly onHup = () => this.trigger('SIGHUP');

  constructor(
    private readonly app: Reloadable,
    private readonly file: string,
    private readonly load: (file: string) => Promise<SkyConfig> = loadSkyfile,
  ) {}

  start(): void {
    process.on('SIGHUP', this.onHup);
    if (this.app.config.reload.watch) {
      const full = resolve(this.file);
      // Watch the directory: editors replace files by rename, which ends a watch on the file itself.
      this.watcher = watch(dirname(full), (_event, name) => {
        if (name !== basename(full)) return;
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.trigger('file change'), this.app.config.reload.debounceMs);
      });
      this.watcher.on('error', (err) => this.app.logger.warn({ err }, 'cannot watch the Skyfile; SIGHUP still reloads'));
    }
  }

  /** Reloads once; concurrent triggers run one after another. */
  trigger(reason: string): Promise<void> {
    this.running = this.running.then(() => this.reloadOnce(reason));
    return this.running;
  }

  private async reloadOnce(reason: string): Promise<void> {
    const log = this.app.logger;
    try {
      const next = await this.load(this.file);
      for (const w of next.warnings) log.warn({ file: this.file }, w);
      await this.app.reload(next);
      log.info({ reason, file: this.file }, 'Skyfile reloaded');
    } catch (err) {
      const detail = isSkyError(err) ? err.describe() : (err as Error).message;
      log.error({ reason, file: this.file, code: isSkyError(err) ? err.code : undefined, path: isSkyError(err) ? err.path : undefined }, `reload failed, still serving the previous configuration: ${detail}`);
    }
  }

  stop(): void {
    process.off('SIGHUP', this.onHup);
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }
}
