import { isIP } from 'node:net';
import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
import { watchOptionsSchema } from '../../src/registry/watch/endpoint.js';
import { parseHostPort } from '../../src/server/address.js';
import { ApiPlugin, type ApiOptions } from './api.js';
import { DEFAULT_BODY_LIMIT } from './server.js';

export { ApiPlugin, type ApiOptions } from './api.js';

/** True for `10.0.0.0/8`, `::1/128` or a bare address (a single host). */
export function isCidr(s: string): boolean {
  const [addr = '', bits, extra] = s.split('/');
  const fam = isIP(addr);
  if (fam === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (fam === 6 ? 128 : 32);
}

export default definePlugin<ApiOptions>({
  name: 'api',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      listen: { type: 'string', minLength: 1, default: '127.0.0.1:8080', description: 'HTTP address of the registration API' },
      secret: { type: 'string', minLength: 1, description: 'shared secret every request must send in its Authorization header' },
      bodyLimit: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024, default: DEFAULT_BODY_LIMIT, description: 'largest request body, bytes' },
      callbacks: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, default: 2000, description: 'per-try timeout of a callback delivery' },
          retries: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'tries after the first' },
          backoffMs: { type: 'integer', minimum: 0, maximum: 600_000, default: 250, description: 'first retry delay; doubles each retry' },
          allowNetworks: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'CIDRs a callback Reply address must be in' },
        },
      },
      tls: {
        type: 'object',
        additionalProperties: false,
        required: ['cert', 'key'],
        properties: {
          cert: { type: 'string', minLength: 1, description: 'PEM certificate (chain) file, relative to the Skyfile' },
          key: { type: 'string', minLength: 1, description: 'PEM private key file, relative to the Skyfile' },
        },
        description: 'serve the API over HTTPS',
      },
      maxHeaderSize: { type: 'integer', minimum: 1024, maximum: 65536, default: 8192, description: 'largest request line plus headers, bytes (431 above it)' },
      rateLimit: {
        type: 'object',
        additionalProperties: false,
        properties: {
          perSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1e6, default: 20, description: 'PUT/PATCH a second one client address may keep up' },
          burst: { type: 'integer', minimum: 1, maximum: 1e6, default: 100, description: 'PUT/PATCH a quiet client may send at once' },
          maxClients: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 10_000, description: 'client addresses tracked at once' },
        },
        description: 'per-client limit on registrations and heartbeats (429 with Retry-After past it)',
      },
      watch: watchOptionsSchema({ maxWatchers: 10_000, watchers: 'open watch streams and waiting blocking GETs', description: 'GET /skydns/watch: Server-Sent Events and blocking GETs on service changes' }),
    },
  },
  setup(opts, ctx) {
    const at = `chain[${ctx.index}].api`;
    const bind = parseHostPort(opts.listen, `${at}.listen`);
    for (const [i, cidr] of (opts.callbacks.allowNetworks ?? []).entries()) {
      if (!isCidr(cidr)) throw new SkyError('SKY_ERR_CONFIG_INVALID', `"${cidr}" is not a network (address/prefix, e.g. 10.0.0.0/8)`, { path: `${at}.callbacks.allowNetworks[${i}]` });
    }
    return new ApiPlugin(opts, bind, ctx);
  },
});
