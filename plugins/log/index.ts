import { definePlugin } from '../../src/plugin.js';
import { createLogHandler, DEFAULT_FORMAT, type LogOptions } from './log.js';

export default definePlugin<LogOptions>({
  name: 'log',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      format: { type: 'string', minLength: 1, default: DEFAULT_FORMAT },
      class: {
        type: 'array',
        minItems: 1,
        items: { enum: ['all', 'success', 'denial', 'error'] },
        default: ['all'],
      },
    },
  },
  setup(opts) {
    return createLogHandler(opts, (line) => process.stdout.write(line + '\n'));
  },
});
