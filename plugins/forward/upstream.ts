/**
 * One upstream server: how to reach it (a pool of UDP sockets, a TCP pool) and
 * its health. After `maxFails` consecutive failures it is marked down and a
 * background probe (`. IN NS`, like CoreDNS) is sent every `healthCheckMs`
 * until one is answered; any answer, whatever its rcode, brings it back up.
 */
import type { Clock, Timer } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import { buildProbeQuery, randomId } from './message.js';
import { TcpPool } from './tcp.js';
import { UdpPool, UpstreamError, type ExchangeOptions } from './udp.js';
import type { UpstreamAddress } from './upstreams.js';
import type { UdpPath } from '../../src/server/udp/socket.js';

export interface UpstreamSettings {
  clock: Clock;
  logger: Logger;
  maxFails: number;
  healthCheckMs: number;
  tryTimeoutMs: number;
  expireMs: number;
  forceTcp: boolean;
  /** UDP sockets in use at once, queries per socket and socket age before it is retired (0: no limit). */
  udpSockets: number;
  socketMaxQueries: number;
  socketMaxAgeMs: number;
  /** The server's UDP path (native or dgram): the UDP sockets use the same. */
  udpPath: UdpPath;
  signal: AbortSignal;
  onDiscard: (why: string) => void;
  onProbeFailure: (name: string) => void;
}

export class Upstream {
  /** Consecutive failures. */
  fails = 0;
  down = false;
  /** Set when loop detection found this upstream is (or leads back to) this server. */
  loop = false;
  /** Probes sent while down, and those that failed (tests and metrics). */
  probes = 0;
  probeFailures = 0;
  readonly tcp: TcpPool;
  readonly udp: UdpPool;
  private probeTimer: Timer | null = null;

  constructor(readonly addr: UpstreamAddress, private readonly s: UpstreamSettings) {
    this.tcp = new TcpPool(addr, s.clock, s.expireMs, s.onDiscard);
    this.udp = new UdpPool(addr, {
      clock: s.clock,
      path: s.udpPath,
      signal: s.signal,
      sockets: s.udpSockets,
      maxQueries: s.socketMaxQueries,
      maxAgeMs: s.socketMaxAgeMs,
      onDiscard: s.onDiscard,
    });
  }

  get name(): string {
    return this.addr.name;
  }

  /** UDP sockets open to this upstream (metrics). */
  get udpSockets(): number {
    return this.udp.size;
  }

  /** Usable for ordinary queries. */
  get healthy(): boolean {
    return !this.down && !this.loop;
  }

  exchange(query: Buffer, transport: 'udp' | 'tcp', timeoutMs: number): Promise<Buffer> {
    if (transport === 'udp') return this.udp.exchange(query, timeoutMs);
    const o: ExchangeOptions = { clock: this.s.clock, timeoutMs, signal: this.s.signal, onDiscard: this.s.onDiscard };
    return this.tcp.exchange(query, o);
  }

  succeeded(): void {
    this.fails = 0;
    if (this.down) {
      this.down = false;
      this.probeTimer?.cancel();
      this.probeTimer = null;
      this.s.logger.info({ upstream: this.name }, `upstream ${this.name} is answering again`);
    }
  }

  failed(err: unknown): void {
    if (err instanceof UpstreamError && err.kind === 'aborted') return;
    this.fails++;
    if (this.down || this.s.maxFails === 0 || this.fails < this.s.maxFails) return;
    this.down = true;
    this.s.logger.warn({ upstream: this.name, fails: this.fails, err: (err as Error)?.message }, `upstream ${this.name} marked down after ${this.fails} failures; probing it every ${this.s.healthCheckMs} ms`);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.s.signal.aborted || this.loop) return;
    this.probeTimer = this.s.clock.setTimeout(() => {
      this.probeTimer = null;
      void this.probe();
    }, this.s.healthCheckMs);
  }

  /** One health probe; on failure the next is scheduled. */
  private async probe(): Promise<void> {
    this.probes++;
    try {
      await this.exchange(buildProbeQuery([], 2 /* NS */, randomId()), this.s.forceTcp ? 'tcp' : 'udp', this.s.tryTimeoutMs);
      this.succeeded();
    } catch {
      this.probeFailures++;
      this.s.onProbeFailure(this.name);
      if (this.down) this.scheduleProbe();
    }
  }

  stop(): void {
    this.probeTimer?.cancel();
    this.probeTimer = null;
    this.tcp.close();
    this.udp.close();
  }
}
