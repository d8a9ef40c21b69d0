import { definePlugin } from '../../src/plugin.js';
import { parseHostPort } from '../../src/server/address.js';
import { HealthPlugin, type HealthOptions } from './health.js';

export { HealthPlugin, type HealthOptions, type Readiness } from './health.js';

export default definePlugin<HealthOptions>({
  name: 'health',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      listen: { type: 'string', minLength: 1, default: '127.0.0.1:8181', description: 'HTTP address of /health and /ready' },
      maxLagSeconds: { type: 'number', exclusiveMinimum: 0, description: 'not ready once the registry copy lags etcd by more than this (default: never)' },
    },
  },
  setup(opts, ctx) {
    return new HealthPlugin(parseHostPort(opts.listen, `chain[${ctx.index}].${ctx.name}.listen`), ctx, opts.maxLagSeconds);
  },
});
