/**
 * Forwarding-loop detection: the classic mistake is a resolv.conf whose
 * nameserver is this very server (or a local stub that forwards back to it).
 *
 * Two checks, both at start:
 *  - static: an upstream equal to one of our listen addresses;
 *  - a probe: once the listeners are open, a query for a random name under
 *    `skydns-loop-check` is sent to each upstream. If it comes back to this
 *    plugin, that upstream leads back here. (CoreDNS's `loop` plugin works the
 *    same way, with a random HINFO query.)
 * A looping upstream is logged as an error (SKY_ERR_FORWARD_LOOP) and never
 * used; probe queries that reach us are answered REFUSED and go no further.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../src/logger.js';
import { buildProbeQuery, randomId } from './message.js';
import type { Upstream } from './upstream.js';
import { parseAddress } from './upstreams.js';

export const LOOP_LABEL = 'skydns-loop-check';
const HINFO = 13;

export class LoopDetector {
  /** Outstanding probe names (lowercase, no trailing dot) → the upstream each was sent to. */
  private readonly probes = new Map<string, Upstream>();
  private stopped = false;

  constructor(
    private readonly upstreams: readonly Upstream[],
    /** Zone the forwarder serves ("." or e.g. "consul"): probe names must fall in it. */
    private readonly from: string,
    private readonly tryTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Marks upstreams that equal one of `addresses` ("host:port"; port 0 never matches). */
  checkAddresses(addresses: readonly string[]): void {
    const ours = new Set<string>();
    for (const a of addresses) {
      const p = parseAddress(a);
      if (p && p.port !== 0) ours.add(p.name);
    }
    for (const u of this.upstreams) if (!u.loop && ours.has(u.name)) this.found(u, 'it is one of this server\'s listen addresses');
  }

  /** Called by the forwarder for every query: the upstream whose probe this is, if it is one. */
  seen(name: string): boolean {
    const u = this.probes.get(name);
    if (!u) return false;
    if (!u.loop) this.found(u, 'a probe query sent to it came back to this server');
    return true;
  }

  /** Sends one probe to each upstream not already excluded and waits for them to finish. */
  async probeAll(): Promise<void> {
    if (this.stopped) return;
    await Promise.all(this.upstreams.filter((u) => !u.loop).map((u) => this.probe(u)));
  }

  private async probe(u: Upstream): Promise<void> {
    const labels = [randomBytes(8).toString('hex'), LOOP_LABEL, ...(this.from === '.' ? [] : this.from.split('.'))];
    const name = labels.join('.');
    this.probes.set(name, u);
    try {
      await u.exchange(buildProbeQuery(labels, HINFO, randomId()), 'udp', this.tryTimeoutMs);
    } catch {
      // Not answering is not a loop; ordinary health checks deal with it.
    } finally {
      this.probes.delete(name);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private found(u: Upstream, why: string): void {
    u.loop = true;
    this.logger.error(
      { code: 'SKY_ERR_FORWARD_LOOP', upstream: u.name },
      `SKY_ERR_FORWARD_LOOP: upstream ${u.name} is this server (${why}); not forwarding to it. ` +
        'Point forward at a real resolver (is /etc/resolv.conf naming this server?)',
    );
  }
}
