import { isIP } from 'node:net';
import { SkyError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses "127.0.0.1:1053", "[::1]:53" or "localhost:53" (localhost means 127.0.0.1). */
export function parseHostPort(s: string, path?: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  const opts = path === undefined ? {} : { path };
  if (!m) throw new SkyError('SKY_ERR_LISTEN_ADDRESS', `"${s}" is not host:port (IPv6 as [addr]:port)`, opts);
  let host = m[1]!;
  const port = Number(m[2]);
  if (port > 65535) throw new SkyError('SKY_ERR_LISTEN_ADDRESS', `port ${port} in "${s}" is over 65535`, opts);
  if (host === 'localhost') host = '127.0.0.1';
  const fam = isIP(host);
  if (fam === 0) throw new SkyError('SKY_ERR_LISTEN_ADDRESS', `"${host}" in "${s}" is not an IP address`, opts);
  return { host, port, family: fam as 4 | 6 };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
