/**
 * The catalog's HTTP routes, on its own listener:
 *
 *   GET    /                       the page (HTML), /catalog.js, /catalog.css   ETag, no-cache, strict CSP
 *   GET    /catalog/config         {"zone", "secret": bool}                     what the page needs to know
 *   GET    /catalog/watch          the watch API (SSE or blocking GET), as GET /skydns/watch on the api
 *   GET    /catalog/answers?name=web.production    what this server's DNS answers for the name's SRV and A
 *   DELETE /catalog/services/{uuid}                deregister; needs the secret when one is set
 *
 * Reads need no secret (the catalog's listen address is where to control who
 * can see it); the one write does. Errors are `{error, code, field?}` JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSkyError, SkyError, type ErrorCode } from '../../src/errors.js';
import type { Registry } from '../../src/registry/types.js';
import { toJSON } from '../../src/registry/types.js';
import { secretChecker } from '../../src/http/secret.js';
import { parseWatchPattern, type WatchEndpoint } from '../../src/registry/watch/endpoint.js';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import { notModified, type StaticFile } from './static-files.js';
import type { DnsAnswer } from './dns-ask.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STATUS: Partial<Record<ErrorCode, number>> = {
  SKY_ERR_API_BAD_REQUEST: 400,
  SKY_ERR_REGISTRY_INVALID: 400,
  SKY_ERR_API_UNAUTHORIZED: 401,
  SKY_ERR_REGISTRY_NOT_FOUND: 404,
  SKY_ERR_API_ROUTE: 404,
  SKY_ERR_API_RATE_LIMITED: 429,
  SKY_ERR_REGISTRY_UNAVAILABLE: 503,
  SKY_ERR_REGISTRY_CLOSED: 503,
};

export interface CatalogDeps {
  registry: Registry;
  clock: Clock;
  logger: Logger;
  watch: WatchEndpoint;
  files: Map<string, StaticFile>;
  zone: string;
  secret: string | undefined;
  /** What this server's DNS answers (undefined while its listeners are not open). */
  ask: ((name: string, type: string) => Promise<DnsAnswer>) | undefined;
}

const COMMON = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...COMMON, ...extra });
  res.end(text);
}

function fail(res: ServerResponse, err: SkyError): void {
  const status = STATUS[err.code] ?? 500;
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="skydns-catalog"' } : {};
  json(res, status, { error: err.message, code: err.code, ...(err.path ? { field: err.path } : {}) }, extra);
}

export function catalogHandler(d: CatalogDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://catalog');
    const path = url.pathname;
    try {
      const file = d.files.get(path);
      if (file && (req.method === 'GET' || req.method === 'HEAD')) {
        const headers = { 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', 'content-security-policy': CSP, ...COMMON };
        if (notModified(req.headers['if-none-match'], file.etag)) {
          res.writeHead(304, headers);
          return void res.end();
        }
        res.writeHead(200, { ...headers, 'content-length': file.body.length });
        return void res.end(req.method === 'HEAD' ? undefined : file.body);
      }
      if (path === '/catalog/config' && req.method === 'GET') return json(res, 200, { zone: d.zone, secret: d.secret !== undefined });
      if (path === '/catalog/watch' && req.method === 'GET') {
        const w = d.watch.parse(Object.fromEntries(url.searchParams), req.headers);
        if (w.sse) return void d.watch.stream(w, req, res);
        const a = await d.watch.poll(w, req);
        return json(res, 200, a, { 'x-skydns-index': a.index });
      }
      if (path === '/catalog/answers' && req.method === 'GET') return await answers(d, url.searchParams.get('name') ?? '', res);
      const del = /^\/catalog\/services\/([^/]+)$/.exec(path);
      if (del && req.method === 'DELETE') {
        if (!secretChecker(d.secret)(req.headers.authorization)) {
          const why = req.headers.authorization === undefined ? 'deregistering needs the secret' : 'the secret is not right';
          throw new SkyError('SKY_ERR_API_UNAUTHORIZED', `${why}: send "Authorization: Bearer <secret>"`);
        }
        const gone = await d.registry.remove(decodeURIComponent(del[1]!));
        return json(res, 200, toJSON(gone, d.clock.now()));
      }
      throw new SkyError('SKY_ERR_API_ROUTE', `no catalog route for ${req.method} ${path}`);
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (isSkyError(e)) return fail(res, e);
      d.logger.error({ err: e, url: req.url }, 'catalog request failed');
      fail(res, new SkyError('SKY_ERR_API_INTERNAL', 'the catalog failed while handling the request'));
    }
  };
}

/** SRV and A of `<name>.<zone>` as this server answers them now. */
async function answers(d: CatalogDeps, name: string, res: ServerResponse): Promise<void> {
  const labels = name.split('.');
  if (name === '' || labels.length > 2) throw new SkyError('SKY_ERR_API_BAD_REQUEST', `name ${JSON.stringify(name)} must be a service name and environment such as web.production`, { path: 'name' });
  parseWatchPattern(name); // the same label rules as a query
  if (!d.ask) throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', 'the DNS listeners are not open yet');
  const fq = `${name.toLowerCase()}.${d.zone}.`;
  const [srv, a] = await Promise.all([d.ask(fq, 'SRV'), d.ask(fq, 'A')]);
  json(res, 200, { name: fq, queries: [srv, a] });
}
