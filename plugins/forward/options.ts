/** The forward plugin's options: schema (defaults filled by the Skyfile loader) and types. */
import { durationSchema, type Duration } from '../../src/config/duration.js';

export type Policy = 'random' | 'round_robin' | 'sequential';

export interface ForwardOptions {
  /** "host:port", "host" (port 53), "[v6]:port", or the path of a resolv.conf to read `nameserver` lines from. */
  to: string[];
  /** Only names at or below this zone are forwarded. */
  from: string;
  /** Zones never forwarded: their queries go to the next plugin. */
  except: string[];
  policy: Policy;
  preferUdp: boolean;
  forceTcp: boolean;
  maxFails: number;
  healthCheck: Duration;
  timeout: Duration;
  tryTimeout: Duration;
  maxConcurrent: number;
  servfailWhenAllDown: boolean;
  expire: Duration;
  /** UDP sockets (so source ports) per upstream in use at once. */
  udpSockets: number;
  /** Queries one UDP socket carries before it is retired (0: no limit). */
  socketMaxQueries: number;
  /** Age at which a UDP socket is retired (0: no limit). */
  socketMaxAge: Duration;
}

export const forwardSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    to: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      default: ['/etc/resolv.conf'],
      description: 'upstreams: "host:port", "host" (port 53), "[v6]:port", or resolv.conf paths',
    },
    from: { type: 'string', minLength: 1, default: '.', description: 'forward only names at or below this zone' },
    except: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'zones passed to the next plugin instead' },
    policy: { enum: ['random', 'round_robin', 'sequential'], default: 'random' },
    preferUdp: { type: 'boolean', default: false, description: 'UDP to upstreams even for TCP clients; TCP only when truncated' },
    forceTcp: { type: 'boolean', default: false, description: 'TCP to upstreams always' },
    maxFails: { type: 'integer', minimum: 0, default: 2, description: 'consecutive failures that mark an upstream down (0: never)' },
    healthCheck: durationSchema('500ms', 'interval between background probes of a down upstream'),
    timeout: durationSchema(5000, 'overall deadline of one query, across retries'),
    tryTimeout: durationSchema(2000, 'deadline of one attempt on one upstream'),
    maxConcurrent: { type: 'integer', minimum: 0, default: 1000, description: 'queries in flight upstream before new ones are REFUSED (0: no limit)' },
    servfailWhenAllDown: { type: 'boolean', default: true, description: 'SERVFAIL at once when every upstream is down (false: try them anyway)' },
    expire: durationSchema('10s', 'idle time after which a reusable upstream TCP connection is closed (0: no reuse)'),
    udpSockets: { type: 'integer', minimum: 1, maximum: 1024, default: 16, description: 'UDP sockets per upstream in use at once, each on its own random source port' },
    socketMaxQueries: { type: 'integer', minimum: 0, default: 1000, description: 'queries one UDP socket carries before it is replaced by a new one on a new port (0: no limit)' },
    socketMaxAge: durationSchema('10s', 'age at which a UDP socket is replaced by a new one on a new port (0: no limit)'),
  },
} as const;
