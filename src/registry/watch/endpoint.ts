/**
 * The watch API over HTTP, on node's request and response objects, so the
 * api plugin (fastify) and the catalog plugin (its own listener) serve the
 * same thing without importing each other:
 *
 *   GET /skydns/watch?query=PATTERN                 Accept: text/event-stream → Server-Sent Events
 *   GET /skydns/watch?query=PATTERN&index=C&wait=30s                         → blocking GET (JSON)
 *
 * `parse` validates a request (SKY_ERR_API_BAD_REQUEST naming the parameter;
 * SKY_ERR_API_RATE_LIMITED past `maxWatchers`) before anything is written, so
 * each plugin answers errors in its own way; `stream` and `poll` then serve it.
 * `close()` ends every stream and answers every waiting poll (call it before
 * closing the listener, or its close waits on them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Timer } from '../../clock.js';
import { SkyError } from '../../errors.js';
import { isLabel } from '../names.js';
import { parsePattern } from '../pattern.js';
import type { Registry, ServicePattern } from '../types.js';
import { ChangeLog, DEFAULT_HISTORY } from './change-log.js';
import { parseWait, Poll, type PollAnswer } from './poll.js';
import { StreamWatcher, type WatchSink } from './stream.js';

export interface WatchOptions {
  clock: Clock;
  /** Changes kept for reconnecting watchers (default 4096). */
  history?: number;
  /** Streams plus waiting polls at once (default 10000); past it, 429. */
  maxWatchers?: number;
  /** A comment line on every idle stream this often, ms (default 15000; 0: never). */
  keepaliveMs?: number;
  /** SSE `retry:` sent to browsers, ms (default 2000). */
  retryMs?: number;
  /** Told the number of watchers whenever it changes, and of every stream cut for falling behind (metrics). */
  report?: { watchers(n: number): void; cut(): void };
}

/**
 * The Skyfile schema of a plugin's `watch` block (the api's, the catalog's):
 * the WatchEndpoint options a user sets, with that plugin's default for
 * maxWatchers and its words for what a watcher is.
 */
export function watchOptionsSchema(o: { maxWatchers: number; watchers: string; description?: string }) {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      history: { type: 'integer', minimum: 1, maximum: 1_000_000, default: DEFAULT_HISTORY, description: 'recent changes kept so a reconnecting watcher misses nothing' },
      maxWatchers: { type: 'integer', minimum: 1, maximum: 1_000_000, default: o.maxWatchers, description: `${o.watchers} at once (429 past it)` },
      keepaliveMs: { type: 'integer', minimum: 0, maximum: 600_000, default: 15_000, description: 'comment line on idle watch streams this often (0: never)' },
    },
    ...(o.description ? { description: o.description } : {}),
  };
}

export interface WatchRequest {
  sse: boolean;
  pattern: ServicePattern;
  from?: string;
  waitMs: number;
}

const bad = (param: string, why: string): never => {
  throw new SkyError('SKY_ERR_API_BAD_REQUEST', `${param} ${why}`, { path: param });
};

/** A DNS-style pattern as `?query=` takes it (GET /skydns/services/ and /skydns/watch); 400 naming `query` when it cannot match. */
export function parseWatchPattern(q: string | undefined): ServicePattern {
  if (q === undefined) return {};
  const p = parsePattern(q);
  const trimmed = q.endsWith('.') ? q.slice(0, -1) : q;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  if (p === null) bad('query', `${JSON.stringify(q)} has an empty label or more than 6 labels; expected a DNS-style pattern such as east.any.web.production`);
  for (const l of labels) if (l !== '*' && !isLabel(l)) bad('query', `${JSON.stringify(q)} has a label that is not a DNS label (${JSON.stringify(l)}); expected a DNS-style pattern such as east.any.web.production`);
  return p!;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export class WatchEndpoint {
  readonly log: ChangeLog;
  /** Open streams and their responses (cut at close). */
  private readonly streams = new Map<StreamWatcher, ServerResponse>();
  private readonly polls = new Set<Poll>();
  private keepTimer: Timer | undefined;
  private closed = false;

  constructor(private readonly registry: Registry, private readonly o: WatchOptions) {
    this.log = new ChangeLog(registry, o.history ?? DEFAULT_HISTORY);
  }

  /** Open streams and waiting polls. */
  get watchers(): number {
    return this.streams.size + this.polls.size;
  }

  /** Validates a watch request from its query parameters and headers. */
  parse(query: Record<string, string | string[] | undefined>, headers: IncomingMessage['headers']): WatchRequest {
    const sse = /\btext\/event-stream\b/.test(headers.accept ?? '');
    const pattern = parseWatchPattern(one(query.query));
    const waitMs = parseWait(one(query.wait));
    if (waitMs === undefined) bad('wait', `${JSON.stringify(one(query.wait))} is not a duration such as 30s, 5m or 1500ms`);
    const from = one(headers['last-event-id']) ?? one(query.index);
    if (this.closed) throw new SkyError('SKY_ERR_REGISTRY_CLOSED', 'the server is stopping');
    if (this.watchers >= (this.o.maxWatchers ?? 10_000)) {
      throw new SkyError('SKY_ERR_API_RATE_LIMITED', `too many watchers at once (${this.watchers}); try again later`);
    }
    return { sse, pattern, waitMs: waitMs!, ...(from !== undefined ? { from } : {}) };
  }

  /** Serves `w` as Server-Sent Events on `res` until the client or the server closes it. */
  stream(w: WatchRequest, req: IncomingMessage, res: ServerResponse): StreamWatcher {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      // Never reused: once the stream ends the connection goes too (a stop does not wait on keep-alive).
      connection: 'close',
      'x-skydns-index': this.log.cursor(),
    });
    res.socket?.setNoDelay(true);
    res.on('error', () => undefined); // a reader that went away: 'close' below cleans up
    const sink: WatchSink = {
      write: (chunk) => res.write(chunk),
      onDrain: (fn) => res.once('drain', fn),
      // A reader that cannot take more is cut off; one that can gets a clean end.
      close: () => (res.writableNeedDrain ? res.destroy() : res.end()),
    };
    const watcher = new StreamWatcher({ log: this.log, registry: this.registry, clock: this.o.clock, pattern: w.pattern, retryMs: this.o.retryMs ?? 2000, ...(w.from !== undefined ? { from: w.from } : {}) }, sink);
    this.streams.set(watcher, res);
    this.o.report?.watchers(this.watchers);
    const gone = (): void => {
      watcher.close();
      if (!this.streams.delete(watcher)) return;
      if (watcher.endReason === 'behind') this.o.report?.cut();
      this.o.report?.watchers(this.watchers);
    };
    req.once('close', gone);
    res.once('close', gone);
    this.armKeepalive();
    return watcher;
  }

  /** Answers `w` as a blocking GET; settles early if the client goes away. */
  async poll(w: WatchRequest, req: IncomingMessage): Promise<PollAnswer> {
    const p = new Poll({ log: this.log, registry: this.registry, clock: this.o.clock, pattern: w.pattern, waitMs: w.waitMs, ...(w.from !== undefined ? { from: w.from } : {}) });
    this.polls.add(p);
    this.o.report?.watchers(this.watchers);
    const gone = (): void => p.cancel();
    req.socket?.once('close', gone);
    try {
      return await p.answer;
    } finally {
      this.polls.delete(p);
      this.o.report?.watchers(this.watchers);
      req.socket?.off('close', gone);
    }
  }

  close(): void {
    this.closed = true;
    this.keepTimer?.cancel();
    this.keepTimer = undefined;
    // Cut, not ended: the server is going away and its close must not wait on the readers.
    for (const [s, res] of this.streams) {
      s.close();
      res.destroy();
    }
    this.streams.clear();
    for (const p of this.polls) p.cancel();
    this.log.close();
    this.o.report?.watchers(this.polls.size);
  }

  private armKeepalive(): void {
    const every = this.o.keepaliveMs ?? 15_000;
    if (every <= 0 || this.keepTimer || this.closed) return;
    this.keepTimer = this.o.clock.setTimeout(() => {
      this.keepTimer = undefined;
      for (const s of this.streams.keys()) s.keepalive();
      if (this.streams.size > 0) this.armKeepalive();
    }, every);
  }
}
