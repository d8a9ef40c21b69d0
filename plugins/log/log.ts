/**
 * The query log handler: it passes every query on and, once the reply is
 * written, formats one line from a template of {placeholders}.
 */
import type { Plugin, Request, ResponseInfo } from '../../src/plugin.js';
import { rcodeName } from '../../src/dns/types.js';

export const DEFAULT_FORMAT = '{remote}:{port} - {id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';

export type LogClass = 'all' | 'success' | 'denial' | 'error';

export interface LogOptions {
  format: string;
  class: LogClass[];
}

const ERROR_RCODES = new Set([1, 2, 4, 5, 16]); // FORMERR SERVFAIL NOTIMP REFUSED BADVERS

/** Which class a reply falls in: denial is NXDOMAIN or NODATA (RFC 2308), error any failure rcode. */
export function classify(info: ResponseInfo): Exclude<LogClass, 'all'> {
  if (info.rcode === 3 || (info.rcode === 0 && info.answerCount === 0 && !info.dropped)) return 'denial';
  if (ERROR_RCODES.has(info.rcode) || info.rcode > 5) return 'error';
  return 'success';
}

function fields(req: Request, info: ResponseInfo): Record<string, string> {
  const remote = req.remote.family === 'IPv6' ? `[${req.remote.address}]` : req.remote.address;
  const flags = req.raw.readUInt16BE(2);
  return {
    remote,
    port: String(req.remote.port),
    id: String(req.id),
    type: req.type,
    class: req.qclass === 1 ? 'IN' : req.qclass === 3 ? 'CH' : `CLASS${req.qclass}`,
    name: req.qname === '.' ? '.' : `${req.qname}.`,
    proto: req.transport,
    size: String(req.raw.length),
    '>do': req.do ? 'true' : 'false',
    '>bufsize': String(req.edns?.udpSize ?? 512),
    rcode: info.dropped ? 'DROPPED' : rcodeName(info.rcode),
    '>rflags': [flags & 0x0100 ? 'rd' : '', info.truncated ? 'tc' : ''].filter(Boolean).join(',') || '-',
    rsize: String(info.size),
    duration: `${(info.durationMs / 1000).toFixed(6)}s`,
    plugin: info.answeredBy ?? '-',
  };
}

export function formatLine(format: string, req: Request, info: ResponseInfo): string {
  const f = fields(req, info);
  return format.replace(/\{(>?[a-z]+)\}/g, (m, key: string) => f[key] ?? m);
}

export function createLogHandler(opts: LogOptions, write: (line: string) => void): Plugin {
  const all = opts.class.includes('all');
  const classes = new Set(opts.class);
  return {
    serveDNS(req, next) {
      req.onResponse((info) => {
        if (all || classes.has(classify(info))) write(formatLine(opts.format, req, info));
      });
      return next();
    },
  };
}
