/**
 * On-disk state of the embedded registry: a snapshot plus an append-only log.
 *
 *   <dir>/snapshot.bin   one frame: {gen, records}, the full state when wal-<gen> was started
 *   <dir>/wal-<gen>.log  frames appended since that snapshot
 *
 * A frame is `[u32 LE length][u32 LE crc32(length bytes + payload)][payload: JSON]`.
 * The CRC makes every log record self-checking: a record torn by SIGKILL or a
 * power cut (short, or zero-filled, or garbled) fails its check on load, and it
 * and everything after it are truncated away with a warning. Since records are
 * only ever appended and each batch is fsync'd before any of its writes is
 * acknowledged, only unacknowledged records can be in that torn tail.
 * (Corruption in the middle of the log, which a crash cannot cause, is treated
 * the same way: the loader keeps the valid prefix and says how much it dropped.)
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Callback, Service } from './types.js';

/** A service as stored on disk: JSON has no Infinity, so NoExpire is `expiresAt: null`. */
export type DiskService = Service & { expiresAt: number | null };

export type LogRecord =
  | { op: 'set'; s: DiskService }
  | { op: 'del'; uuid: string }
  | { op: 'cbset'; cb: Callback }
  | { op: 'cbdel'; id: string };

export const SNAPSHOT_FILE = 'snapshot.bin';
const SNAPSHOT_TMP = 'snapshot.tmp';
export const logFileName = (gen: number): string => `wal-${gen}.log`;
const LOG_RE = /^wal-(\d+)\.log$/;
const HEADER = 8;
/** Upper bound on one frame, so a garbled length field cannot ask for gigabytes. */
const MAX_FRAME = 256 * 1024 * 1024;

export function encodeFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload, crc32(frame.subarray(0, 4))), 4);
  payload.copy(frame, HEADER);
  return frame;
}

/** Decodes frames from the start of `buf`; `end` is where the valid prefix stops. */
export function decodeFrames(buf: Buffer): { values: unknown[]; end: number } {
  const values: unknown[] = [];
  let off = 0;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len === 0 || len > MAX_FRAME || off + HEADER + len > buf.length) break;
    const payload = buf.subarray(off + HEADER, off + HEADER + len);
    if (crc32(payload, crc32(buf.subarray(off, off + 4))) !== buf.readUInt32LE(off + 4)) break;
    let v: unknown;
    try {
      v = JSON.parse(payload.toString('utf8'));
    } catch {
      break;
    }
    values.push(v);
    off += HEADER + len;
  }
  return { values, end: off };
}

function ioError(message: string, cause: unknown): SkyError {
  return new SkyError('SKY_ERR_REGISTRY_IO', `${message}: ${(cause as Error)?.message ?? cause}`, { cause });
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export interface StorageOptions {
  fsync: boolean;
  logger: Logger;
}

export class Storage {
  private gen = 0;
  private log: FileHandle | undefined;
  /** Records in the current log (what `snapshotEvery` counts). */
  logRecords = 0;

  constructor(readonly dir: string, private readonly opts: StorageOptions) {}

  /** Loads the snapshot, replays the log through `apply`, repairs a torn tail, opens the log. */
  async open(apply: (r: LogRecord) => void): Promise<void> {
    const { dir, opts } = this;
    try {
      const created = await fsp.mkdir(dir, { recursive: true });
      // A new directory's own entry must be durable too.
      if (created !== undefined) for (const d of new Set([dirname(created), dirname(dir)])) await this.syncDir(d);
      const snap = await readIfExists(join(dir, SNAPSHOT_FILE));
      if (snap) {
        // Written to a temp file, fsync'd and renamed: a crash cannot tear it.
        const { values, end } = decodeFrames(snap);
        const v = values[0] as { gen: number; records: LogRecord[] } | undefined;
        if (!v || end !== snap.length) {
          throw new SkyError('SKY_ERR_REGISTRY_IO', `the snapshot ${join(dir, SNAPSHOT_FILE)} is corrupt (not a crash artifact: it is only ever replaced by rename)`);
        }
        this.gen = v.gen;
        for (const r of v.records) apply(r);
      }
      // Leftovers of an interrupted snapshot: a temp file, or a log already folded in.
      await fsp.rm(join(dir, SNAPSHOT_TMP), { force: true });
      for (const f of await fsp.readdir(dir)) {
        const m = LOG_RE.exec(f);
        if (m && Number(m[1]) !== this.gen) await fsp.rm(join(dir, f), { force: true });
      }
      const logPath = join(dir, logFileName(this.gen));
      const buf = await readIfExists(logPath);
      if (buf) {
        const { values, end } = decodeFrames(buf);
        for (const r of values) apply(r as LogRecord);
        this.logRecords = values.length;
        if (end < buf.length) {
          opts.logger.warn({ file: logPath, keptBytes: end, droppedBytes: buf.length - end, records: values.length },
            'registry log has a torn or corrupt tail (interrupted write); truncating it');
          const fh = await fsp.open(logPath, 'r+');
          try {
            await fh.truncate(end);
            if (opts.fsync) await fh.sync();
          } finally {
            await fh.close();
          }
        }
      }
      this.log = await fsp.open(logPath, 'a');
      if (!buf) await this.syncDir();
    } catch (e) {
      if (e instanceof SkyError) throw e;
      throw ioError(`cannot load the registry from ${dir}`, e);
    }
  }

  /** Appends records and (with fsync on) makes them durable before resolving. */
  async append(records: LogRecord[]): Promise<void> {
    if (!this.log) throw new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the registry log is not open');
    const buf = records.length === 1 ? encodeFrame(records[0]) : Buffer.concat(records.map(encodeFrame));
    try {
      let off = 0;
      while (off < buf.length) off += (await this.log.write(buf, off, buf.length - off)).bytesWritten;
      if (this.opts.fsync) await this.log.datasync();
    } catch (e) {
      throw ioError('cannot append to the registry log', e);
    }
    this.logRecords += records.length;
  }

  /**
   * Writes the full state as a new snapshot and starts an empty log. The caller
   * guarantees no append runs meanwhile. Order, and why a crash at any step loads:
   *  1. write snapshot.tmp (gen+1) and fsync it. Crash: old snapshot + wal-gen
   *     are untouched; the loader deletes the stray temp file.
   *  2. rename it over snapshot.bin, fsync the directory. The rename is atomic:
   *     the loader sees the old snapshot (and its complete wal-gen) or the new one.
   *  3. create wal-(gen+1), fsync the directory, append there from now on. Crash
   *     between 2 and 3: the new snapshot has no log yet; a missing log is empty.
   *  4. close and delete wal-gen. A leftover is deleted by the loader, since its
   *     records are all in the snapshot.
   */
  async snapshot(records: LogRecord[]): Promise<void> {
    const { dir, opts } = this;
    const next = this.gen + 1;
    try {
      const tmp = join(dir, SNAPSHOT_TMP);
      const fh = await fsp.open(tmp, 'w');
      try {
        await fh.writeFile(encodeFrame({ gen: next, records }));
        if (opts.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, join(dir, SNAPSHOT_FILE));
      await this.syncDir();
      const newLog = await fsp.open(join(dir, logFileName(next)), 'a');
      await this.syncDir();
      const old = this.log;
      this.log = newLog;
      this.gen = next;
      this.logRecords = 0;
      await old?.close();
      await fsp.rm(join(dir, logFileName(next - 1)), { force: true });
    } catch (e) {
      throw ioError('cannot write a registry snapshot', e);
    }
  }

  async close(): Promise<void> {
    const l = this.log;
    this.log = undefined;
    await l?.close();
  }

  private async syncDir(path = this.dir): Promise<void> {
    if (!this.opts.fsync) return;
    const d = await fsp.open(path, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
