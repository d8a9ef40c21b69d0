/**
 * A small HTTP listener for plugins that serve a few fixed paths on their own
 * address (metrics, health): bound in a plugin's `start`, closed in its
 * `stop`, with the address it actually bound (port 0 in tests) readable.
 * A handler that throws answers 500 and is logged; it never takes the
 * server down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SkyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatHostPort, type HostPort } from '../server/address.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** How long `close()` lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

export interface HttpListener {
  /** Bound address as host:port ([v6]:port). */
  readonly address: string;
  close(): Promise<void>;
}

/** Writes a complete response (HEAD gets the headers only). */
export function send(req: IncomingMessage, res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** 405 for anything but GET and HEAD; returns whether the request may go on. */
export function onlyGet(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  send(req, res, 405, `method ${req.method ?? '?'} not allowed\n`, undefined, { allow: 'GET, HEAD' });
  return false;
}

/** The request's path without its query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Binds `handler` on `bind`. `what` names the listener in errors and logs
 * ("metrics"); `keyPath` is the Skyfile key of its address, for
 * SKY_ERR_LISTEN.
 */
export async function listenHttp(bind: HostPort, handler: HttpHandler, o: { what: string; keyPath: string; logger: Logger }): Promise<HttpListener> {
  const server: Server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        o.logger.error({ err, method: req.method, url: req.url }, `${o.what} request failed`);
        if (!res.headersSent) send(req, res, 500, 'internal error\n');
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Not `exclusive`: in a cluster worker (Skyfile `workers`) connections come through the primary's shared socket.
      server.listen({ host: bind.host, port: bind.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const shown = formatHostPort(bind.host, bind.port);
    throw new SkyError('SKY_ERR_LISTEN', `${o.what} could not listen on ${shown}: ${(err as Error).message}`, { path: o.keyPath, cause: err });
  }
  server.on('error', (err) => o.logger.error({ err }, `${o.what} listener error`));
  const a = server.address() as AddressInfo;
  const address = formatHostPort(a.address, a.port);
  let closing: Promise<void> | null = null;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // Idle keep-alive connections go at once; a request in flight gets a short grace.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * A plugin's own HTTP address (metrics, health): opened in the plugin's
 * `start`, closed in `stop`; `address()` is what it actually bound.
 */
export class HttpEndpoint {
  private listener: HttpListener | undefined;

  constructor(
    private readonly bind: HostPort,
    private readonly handler: HttpHandler,
    private readonly o: { what: string; keyPath: string; logger: Logger },
  ) {}

  async open(): Promise<string> {
    this.listener = await listenHttp(this.bind, this.handler, this.o);
    return this.listener.address;
  }

  async close(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }

  get isOpen(): boolean {
    return this.listener !== undefined;
  }

  /** The bound address as host:port; throws before `open`. */
  address(): string {
    if (!this.listener) throw new SkyError('SKY_ERR_LISTEN', `the ${this.o.what} plugin is not listening`);
    return this.listener.address;
  }
}
