/**
 * `watch(baseUrl, pattern)`: the changes to the services matching a DNS-style
 * pattern, as an async iterator over GET /skydns/watch (Server-Sent Events).
 *
 *   for await (const ev of watch('http://127.0.0.1:8080', 'web.production')) {
 *     if (ev.type === 'reset') replaceAll(ev.services); else apply(ev);
 *   }
 *
 * The first event is a `reset` (every matching service now); then
 * `registered`, `updated`, `expired`, `deleted`, each with the service. When
 * the stream breaks (server restart, network) the iterator reconnects with the
 * last event id after `retryMs` and goes on where it stopped; if the server no
 * longer holds what was missed, the next event is a `reset` again. An answer
 * that retrying cannot fix (400 bad pattern, 401 secret) ends the iteration
 * with a SkyApiError. Stop with `break`, or with `signal`.
 */
import { ERRORS, type ErrorCode } from '../errors.js';
import type { WatchChange, WatchReset } from '../registry/watch/stream.js';
import { apiBase, SkyApiError, type ClientOptions } from './http.js';

export type { WatchChange, WatchReset } from '../registry/watch/stream.js';
export type WatchEvent = WatchChange | WatchReset;

export interface WatchOptions extends Omit<ClientOptions, 'timeoutMs'> {
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** A cursor (an event's `index`) to resume after, instead of starting with a reset. */
  from?: string;
  /** Pause before a reconnect, ms (default 1000). */
  retryMs?: number;
}

/** Statuses worth retrying: the server is busy, stopping or unreachable. */
const RETRY = new Set([0, 429, 500, 502, 503, 504]);

export async function* watch(baseUrl: string, pattern = '', o: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  const url = `${apiBase(baseUrl)}/skydns/watch${pattern === '' ? '' : `?query=${encodeURIComponent(pattern)}`}`;
  const doFetch = o.fetch ?? fetch;
  let last = o.from;
  while (!o.signal?.aborted) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (o.secret !== undefined) headers.authorization = `Bearer ${o.secret}`;
    if (last !== undefined) headers['last-event-id'] = last;
    let res: Response | undefined;
    try {
      res = await doFetch(url, { headers, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (e) {
      if (o.signal?.aborted) return;
      res = undefined;
      void e;
    }
    if (res && !res.ok) {
      const text = await res.text().catch(() => '');
      if (!RETRY.has(res.status)) throw errorOf(res, text, url);
    } else if (res?.body) {
      try {
        for await (const ev of events(res.body)) {
          last = ev.index;
          yield ev;
        }
      } catch (e) {
        if (o.signal?.aborted) return;
        void e; // the stream broke: reconnect below
      }
    }
    await pause(o.retryMs ?? 1000, o.signal);
  }
}

function errorOf(res: Response, text: string, url: string): SkyApiError {
  let body: { error?: unknown; code?: unknown; field?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  const message = typeof body.error === 'string' ? body.error : `GET ${url}: HTTP ${res.status}`;
  const code: ErrorCode = typeof body.code === 'string' && Object.hasOwn(ERRORS, body.code) ? (body.code as ErrorCode) : 'SKY_ERR_API_HTTP';
  return new SkyApiError(res.status, code, message, typeof body.field === 'string' ? { path: body.field } : {});
}

/** The events of one SSE body (comments, `retry:` and events without data skipped). */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<WatchEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value.replace(/\r\n?/g, '\n');
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let data = '';
        for (const line of block.split('\n')) if (line.startsWith('data:')) data += line.slice(line[5] === ' ' ? 6 : 5);
        if (data !== '') yield JSON.parse(data) as WatchEvent;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
