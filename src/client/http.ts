/**
 * Plain functions for the SkyDNS HTTP API (one request each), on global fetch.
 * Every failure is a `SkyApiError`: `status` is the HTTP status (0 when the
 * server could not be reached or timed out) and `code` the server's
 * `SKY_ERR_*` code, so callers branch on `err.status === 404` or `err.code`.
 */
import { ERRORS, SkyError, type ErrorCode } from '../errors.js';
import type { Callback, Service, ServiceJSON } from '../registry/types.js';

export interface ClientOptions {
  /** The API's shared secret, sent as `Authorization: Bearer <secret>`. */
  secret?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number;
}

export class SkyApiError extends SkyError {
  /** HTTP status; 0 when no answer came back. */
  readonly status: number;

  constructor(status: number, code: ErrorCode, message: string, opts: { path?: string; cause?: unknown; problems?: ReadonlyArray<{ path: string; message: string }> } = {}) {
    super(code, message, opts);
    this.name = 'SkyApiError';
    this.status = status;
  }
}

export function isSkyApiError(e: unknown, status?: number): e is SkyApiError {
  return e instanceof SkyApiError && (status === undefined || e.status === status);
}

function knownCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && Object.hasOwn(ERRORS, c);
}

/** `http://host:port` without a trailing slash; a TypeError for anything that is not an http(s) URL. */
export function apiBase(baseUrl: string): string {
  let u: URL | undefined;
  try {
    u = new URL(baseUrl);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new TypeError(`API address ${JSON.stringify(baseUrl)} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)`);
  }
  return u.href.replace(/\/+$/, '');
}

/** One request; resolves with the parsed JSON body of a 2xx answer. */
export async function apiRequest<T>(baseUrl: string, method: string, path: string, body: unknown, o: ClientOptions = {}): Promise<T> {
  const url = apiBase(baseUrl) + path;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.secret !== undefined) headers.authorization = `Bearer ${o.secret}`;
  const doFetch = o.fetch ?? fetch;
  let res: Response;
  let text: string;
  try {
    res = await doFetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
    text = await res.text();
  } catch (e) {
    const why = (e as Error).name === 'TimeoutError' ? `no answer within ${o.timeoutMs ?? 10_000} ms` : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
    throw new SkyApiError(0, 'SKY_ERR_API_UNREACHABLE', `${method} ${url}: ${why}`, { cause: e });
  }
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (res.ok) {
    if (data === undefined && text !== '') throw new SkyApiError(res.status, 'SKY_ERR_API_HTTP', `${method} ${url}: answered ${res.status} with a body that is not JSON`);
    return data as T;
  }
  const err = (data ?? {}) as { error?: unknown; code?: unknown; field?: unknown; fields?: unknown };
  const message = typeof err.error === 'string' ? err.error : `${method} ${url}: HTTP ${res.status} ${res.statusText}`.trim();
  const opts: { path?: string; problems?: Array<{ path: string; message: string }> } = typeof err.field === 'string' ? { path: err.field } : {};
  if (Array.isArray(err.fields)) {
    // Several invalid fields: each as `problems` (the message already lists them all).
    opts.problems = (err.fields as Array<{ field?: unknown; error?: unknown }>).map((f) => ({ path: String(f.field ?? ''), message: String(f.error ?? '') }));
  }
  throw new SkyApiError(res.status, knownCode(err.code) ? err.code : 'SKY_ERR_API_HTTP', message, opts);
}

const svcPath = (uuid: string): string => `/skydns/services/${encodeURIComponent(uuid)}`;
const cbPath = (uuid: string): string => `/skydns/callbacks/${encodeURIComponent(uuid)}`;

/**
 * Registers a service (PUT); 409 when the UUID is taken by a live service,
 * unless `replace`: then the server takes the UUID over at once
 * (`?replace=true`: a restarted service coming back before its old TTL ran out).
 */
export function putService(baseUrl: string, service: Service, o?: ClientOptions & { replace?: boolean }): Promise<ServiceJSON> {
  return apiRequest(baseUrl, 'PUT', svcPath(service.UUID) + (o?.replace ? '?replace=true' : ''), service, o);
}

/** Heartbeat (PATCH): extends the service by `ttl` seconds (default: its registered TTL); 404 when gone. */
export function heartbeat(baseUrl: string, uuid: string, ttl?: number, o?: ClientOptions): Promise<ServiceJSON> {
  return apiRequest(baseUrl, 'PATCH', svcPath(uuid), ttl === undefined ? {} : { TTL: ttl }, o);
}

/** Deregisters (DELETE); resolves with the removed service. */
export function removeService(baseUrl: string, uuid: string, o?: ClientOptions): Promise<ServiceJSON> {
  return apiRequest(baseUrl, 'DELETE', svcPath(uuid), undefined, o);
}

/** One service with its remaining TTL; 404 when unknown or expired. */
export function getService(baseUrl: string, uuid: string, o?: ClientOptions): Promise<ServiceJSON> {
  return apiRequest(baseUrl, 'GET', svcPath(uuid), undefined, o);
}

/** Services matching a DNS-style pattern (`east.any.web.production`); every service when omitted. */
export function queryServices(baseUrl: string, pattern?: string, o?: ClientOptions): Promise<ServiceJSON[]> {
  const q = pattern === undefined || pattern === '' ? '' : `?query=${encodeURIComponent(pattern)}`;
  return apiRequest(baseUrl, 'GET', `/skydns/services/${q}`, undefined, o);
}

/** Live services per region (`{"east": 3}`). */
export function regions(baseUrl: string, o?: ClientOptions): Promise<Record<string, number>> {
  return apiRequest(baseUrl, 'GET', '/skydns/regions/', undefined, o);
}

/** Live services per environment. */
export function environments(baseUrl: string, o?: ClientOptions): Promise<Record<string, number>> {
  return apiRequest(baseUrl, 'GET', '/skydns/environments/', undefined, o);
}

/** Registers or replaces a callback. */
export function putCallback(baseUrl: string, cb: Callback, o?: ClientOptions): Promise<Callback> {
  return apiRequest(baseUrl, 'PUT', cbPath(cb.UUID), cb, o);
}

export function removeCallback(baseUrl: string, uuid: string, o?: ClientOptions): Promise<Callback> {
  return apiRequest(baseUrl, 'DELETE', cbPath(uuid), undefined, o);
}
