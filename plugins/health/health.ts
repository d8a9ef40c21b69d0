/**
 * The health plugin: an HTTP listener with two probes.
 *
 *  - `/health`: liveness. 200 `OK` whenever the process can answer at all.
 *  - `/ready`: readiness. 200 once every plugin of the chain reports ready
 *    and the registry (when one is open) has loaded its data or mirrored the
 *    cluster; 503 until then, with a JSON body naming what is still waiting.
 *    A node that mirrors etcd adds `stale` (it cannot vouch for its copy)
 *    and `lagSeconds` (since it last heard from etcd); with `maxLagSeconds`
 *    a lag beyond it makes the node not ready (`waiting: ["registry-lag"]`).
 *
 * It answers no DNS: serveDNS passes every query on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpEndpoint, onlyGet, pathOf, send } from '../../src/http/listener.js';
import type { Plugin, SetupContext } from '../../src/plugin.js';
import type { HostPort } from '../../src/server/address.js';

export interface HealthOptions {
  listen: string;
  /** Not ready once the registry's copy lags etcd by more than this many seconds; absent: never. */
  maxLagSeconds?: number;
}

/** The JSON body of /ready. */
export interface Readiness {
  ready: boolean;
  /** What is not ready yet (`registry`, `chain[4].forward`), when the server says. */
  waiting?: string[];
  /** Registry mirroring etcd only: this node cannot vouch for its copy (it has not heard from etcd lately). */
  stale?: boolean;
  /** Registry mirroring etcd only: seconds since it last heard from etcd (null: never yet). */
  lagSeconds?: number | null;
}

export class HealthPlugin implements Plugin {
  private readonly http: HttpEndpoint;

  constructor(bind: HostPort, private readonly ctx: SetupContext, private readonly maxLagSeconds?: number) {
    this.http = new HttpEndpoint(bind, this.handle, { what: 'health', keyPath: `chain[${ctx.index}].${ctx.name}.listen`, logger: ctx.logger });
  }

  /** What /ready reports right now. */
  readiness(): Readiness {
    const st = this.ctx.staleness?.();
    const max = this.maxLagSeconds;
    const lagging = st !== undefined && max !== undefined && (st.lagSeconds === null || st.lagSeconds > max);
    const extra = st ? { stale: st.stale, lagSeconds: st.lagSeconds } : {};
    if (this.ctx.ready() && !lagging) return { ready: true, ...extra };
    let waiting = this.ctx.notReady?.();
    if (lagging) waiting = [...(waiting ?? []), 'registry-lag'];
    return waiting ? { ready: false, waiting, ...extra } : { ready: false, ...extra };
  }

  /** The HTTP handler (exposed for tests that need no socket). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req);
    if (path !== '/health' && path !== '/ready') return send(req, res, 404, 'not found; the probes are /health and /ready\n');
    if (!onlyGet(req, res)) return;
    if (path === '/health') return send(req, res, 200, 'OK\n');
    const r = this.readiness();
    send(req, res, r.ready ? 200 : 503, JSON.stringify(r) + '\n', 'application/json', r.ready ? {} : { 'retry-after': '1' });
  };

  async start(): Promise<void> {
    const address = await this.http.open();
    this.ctx.logger.info({ address }, `health probes on http://${address}/health and /ready`);
  }

  stop(): Promise<void> {
    return this.http.close();
  }

  ready(): boolean {
    return this.http.isOpen;
  }

  /** The bound address as host:port; throws before start. */
  address(): string {
    return this.http.address();
  }

  /** Base URL, e.g. http://127.0.0.1:8181. */
  url(): string {
    return `http://${this.address()}`;
  }
}
