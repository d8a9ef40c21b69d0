import { isIP } from 'node:net';
import { SkyError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin.js';
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
