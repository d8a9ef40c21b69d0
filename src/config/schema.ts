import { registrySchema } from '../registry/create.js';

/** The Skyfile's top level. Each chain entry's options are validated against its plugin's own schema. */
export const skyfileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chain'],
  properties: {
    dns: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        listen: { type: 'array', items: { type: 'string' }, minItems: 1, default: ['127.0.0.1:1053'] },
        maxUdpSize: { type: 'integer', minimum: 512, maximum: 65535, default: 1232 },
        maxInFlight: { type: 'integer', minimum: 1, default: 10000 },
        shed: { enum: ['refused', 'drop'], default: 'refused' },
        /** UDP I/O: the native batched socket (Linux, when built), node:dgram, or "auto" (native when it loaded). */
        udp: { enum: ['auto', 'native', 'dgram'], default: 'auto' },
        tcp: {
          type: 'object',
          default: {},
          additionalProperties: false,
          properties: {
            idleTimeoutMs: { type: 'integer', minimum: 1, default: 10000 },
            maxConnections: { type: 'integer', minimum: 1, default: 1000 },
            maxPipelined: { type: 'integer', minimum: 1, default: 64 },
          },
        },
      },
    },
    registry: registrySchema,
    /** Processes serving DNS (node:cluster); 1 = a single process, "auto" = one per available CPU. */
    workers: {
      anyOf: [{ type: 'integer', minimum: 1, maximum: 1024 }, { const: 'auto' }],
      default: 1,
      errorMessage: 'must be an integer from 1 to 1024 or "auto"',
    },
    log: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
        /** json: one JSON object a line; pretty: readable lines; auto: pretty on a terminal, JSON otherwise. */
        format: { enum: ['auto', 'json', 'pretty'], default: 'auto' },
      },
    },
    reload: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        /** Reload when the Skyfile changes on disk (SIGHUP always reloads). */
        watch: { type: 'boolean', default: true },
        debounceMs: { type: 'integer', minimum: 0, default: 500 },
      },
    },
    shutdown: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        /** How long SIGTERM/SIGINT waits for queries and HTTP requests in flight. */
        graceMs: { type: 'integer', minimum: 0, default: 5000 },
      },
    },
    chain: {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [{ type: 'string', minLength: 1 }, { type: 'object', minProperties: 1, maxProperties: 1 }],
      },
    },
  },
} as const;
