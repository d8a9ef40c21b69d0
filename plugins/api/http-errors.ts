/**
 * Every error the API answers is JSON `{ "error": message, "code": "SKY_ERR_...",
 * "field"?: name, "fields"?: [{ field, error }] }` (`fields` when several are
 * wrong) with a status that follows from the code. Registry errors
 * keep their code; fastify's own (schema, body parsing, limits) are mapped here.
 */
import { ERRORS, isSkyError, type ErrorCode } from '../../src/errors.js';

export interface ErrorBody {
  error: string;
  code: string;
  field?: string;
  /** When several fields are wrong: each with its own message (`error` lists them all, `field` is the first). */
  fields?: Array<{ field: string; error: string }>;
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  SKY_ERR_REGISTRY_INVALID: 400,
  SKY_ERR_REGISTRY_NOT_FOUND: 404,
  SKY_ERR_REGISTRY_EXISTS: 409,
  SKY_ERR_REGISTRY_IO: 500,
  SKY_ERR_REGISTRY_UNAVAILABLE: 503,
  SKY_ERR_REGISTRY_CLOSED: 503,
  SKY_ERR_API_BAD_REQUEST: 400,
  SKY_ERR_API_UNAUTHORIZED: 401,
  SKY_ERR_API_FORBIDDEN: 403,
  SKY_ERR_API_ROUTE: 404,
  SKY_ERR_API_BODY_TOO_LARGE: 413,
  SKY_ERR_API_MEDIA_TYPE: 415,
  SKY_ERR_API_RATE_LIMITED: 429,
};

/** Status for a code; anything unexpected is a server fault. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: AjvError[];
  validationContext?: string;
}

/** Most problems one 400 lists. */
export const MAX_LISTED = 20;

const WHERE: Record<string, string> = { body: 'the body', params: 'the path', querystring: 'the query string', headers: 'the headers' };

/** One ajv error as a sentence that starts with the field it is about. */
export function describeValidation(v: AjvError, context = 'body'): { message: string; field?: string } {
  const where = WHERE[context] ?? context;
  const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  switch (v.keyword) {
    case 'required': {
      const field = String(v.params.missingProperty);
      return { field, message: `${field} is required` };
    }
    case 'additionalProperties': {
      const field = String(v.params.additionalProperty);
      return { field, message: `unknown field ${JSON.stringify(field)} in ${where}` };
    }
    case 'enum': {
      const allowed = ((v.params.allowedValues as unknown[] | undefined) ?? []).map((a) => JSON.stringify(a)).join(' or ');
      return { field: path || undefined, message: `${path || where} must be ${allowed}` };
    }
    case 'type': {
      if (path === '') return { message: `${where} must be a JSON ${String(v.params.type)}` };
      return { field: path, message: `${path} must be of type ${String(v.params.type)}` };
    }
    default:
      if (path === '') return { message: `${where} ${v.message ?? 'is invalid'}` };
      return { field: path, message: `${path} ${v.message ?? 'is invalid'}` };
  }
}

function fromStatus(status: number): ErrorCode {
  if (status === 401) return 'SKY_ERR_API_UNAUTHORIZED';
  if (status === 404 || status === 405) return 'SKY_ERR_API_ROUTE';
  if (status === 413) return 'SKY_ERR_API_BODY_TOO_LARGE';
  if (status === 415) return 'SKY_ERR_API_MEDIA_TYPE';
  return 'SKY_ERR_API_BAD_REQUEST';
}

/**
 * The answer for any error thrown while handling a request. `internal` is
 * true when the error is the server's fault and deserves an error log line.
 */
export function toHttpError(err: unknown, bodyLimit?: number): HttpError & { internal: boolean } {
  if (isSkyError(err)) {
    const status = statusOf(err.code);
    const body: ErrorBody = { error: err.message, code: err.code };
    if (err.path) body.field = err.path;
    if (err.problems && err.problems.length > 1) body.fields = err.problems.slice(0, MAX_LISTED).map((p) => ({ field: p.path, error: p.message }));
    return { status, body, internal: status >= 500 && err.code !== 'SKY_ERR_REGISTRY_UNAVAILABLE' && err.code !== 'SKY_ERR_REGISTRY_CLOSED' };
  }
  const e = (err ?? {}) as FastifyishError;
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    // ajv runs with allErrors: one answer names every field that is wrong (the first
    // MAX_LISTED of them: a body of thousands of unknown keys gets a short answer).
    const n = e.validation.length;
    const all = e.validation.slice(0, MAX_LISTED).map((v) => describeValidation(v, e.validationContext));
    const d = all[0]!;
    const body: ErrorBody = { error: d.message, code: 'SKY_ERR_API_BAD_REQUEST' };
    if (d.field) body.field = d.field;
    if (n > 1) {
      const more = n > MAX_LISTED ? `; and ${n - MAX_LISTED} more` : '';
      body.error = `${n} problems in ${WHERE[e.validationContext ?? 'body'] ?? 'the request'}: ${all.map((x) => x.message).join('; ')}${more}`;
      body.fields = all.map((x) => ({ field: x.field ?? '', error: x.message }));
    }
    return { status: 400, body, internal: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = fromStatus(e.statusCode);
    return { status: e.statusCode, body: { error: clientMessage(e, code, bodyLimit), code }, internal: false };
  }
  return { status: 500, body: { error: 'internal error while handling the request', code: 'SKY_ERR_API_INTERNAL' }, internal: true };
}

/** Fastify's messages are fine for clients; fall back on the catalog's line. */
function clientMessage(e: FastifyishError, code: ErrorCode, bodyLimit?: number): string {
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'the body must be JSON (Content-Type: application/json)';
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `the request body is over the limit of ${bodyLimit ?? '?'} bytes`;
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the body is empty; expected a JSON object';
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return 'the body is not valid JSON';
  return e.message || ERRORS[code];
}

interface ClientSocket {
  destroyed: boolean;
  writable: boolean;
  write(data: string): unknown;
  destroy(err?: Error): unknown;
}

/**
 * Answers what node's HTTP parser refused (not HTTP, a bad chunk, a truncated
 * body, headers too large, too slow) in the same JSON shape, then closes the
 * connection. Nothing here can throw into the server.
 */
export function writeClientError(err: Error & { code?: string }, socket: ClientSocket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let reason = 'Bad Request';
  let message = `malformed HTTP request (${err.code ?? 'parse error'})`;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    [status, reason, message] = [408, 'Request Timeout', 'the request did not arrive in time'];
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    [status, reason, message] = [431, 'Request Header Fields Too Large', 'the request headers are too large'];
  }
  const body = JSON.stringify({ error: message, code: 'SKY_ERR_API_BAD_REQUEST' } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
