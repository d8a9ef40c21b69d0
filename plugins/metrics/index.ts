import { definePlugin } from '../../src/plugin.js';
import { parseHostPort } from '../../src/server/address.js';
import { MetricsPlugin, type MetricsOptions } from './metrics.js';

export { MetricsPlugin, type MetricsOptions } from './metrics.js';

export default definePlugin<MetricsOptions>({
  name: 'metrics',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      listen: { type: 'string', minLength: 1, default: '127.0.0.1:9153', description: 'HTTP address of the Prometheus endpoint' },
      path: { type: 'string', pattern: '^/[^?#\\s]*$', default: '/metrics', description: 'URL path the metrics are served on' },
      process: { type: 'boolean', default: true, description: 'also export CPU, memory, file descriptor and start time metrics of the process' },
    },
  },
  setup(opts, ctx) {
    return new MetricsPlugin(opts, parseHostPort(opts.listen, `chain[${ctx.index}].${ctx.name}.listen`), ctx);
  },
});
