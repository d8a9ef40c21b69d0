/**
 * The soak workload, shared by test/soak.test.ts (a few seconds, injected
 * clock) and bench/soak.mjs (minutes, real time, a `skydns serve` child).
 *
 * Each round registers services over the HTTP API, heartbeats the ones meant
 * to stay, deletes some, lets others lapse, and then checks every service it
 * knows about over DNS: one acknowledged and not expired must resolve (A on
 * `<uuid>.<zone>` through synth, SRV on its full name through skydns) — if not,
 * it is a lost registration; one deleted or expired must be gone (else stale).
 * Near an expiry (within `marginMs`) nothing is asserted, since the client's
 * and the server's clocks are read at slightly different moments.
 */
import { UdpMux } from './udp-mux.js';

export interface SoakTarget {
  dnsHost: string;
  dnsPort: number;
  /** Base URL of the registration API (`http://127.0.0.1:8080`). */
  api: string;
  zone: string;
  secret?: string;
}

export interface SoakOptions {
  /** The clock the server uses (ms); with a ManualClock the driver also moves it. */
  now: () => number;
  advance?: (ms: number) => void;
  /** Registrations per round, and at most this many services tracked at once. */
  putsPerRound: number;
  maxTracked: number;
  /** TTL (s) of registrations; heartbeats go out when less than half is left. */
  ttl: number;
  marginMs: number;
  /** Rounds a `keep` service is heartbeated before it is left to lapse (keeps the pool turning over). */
  keepRounds: number;
  /** Extra load: queries for service-set names per round. */
  extraQueries: number;
  concurrency: number;
}

type Fate = 'keep' | 'lapse' | 'delete';

interface Tracked {
  uuid: string;
  host: string;
  srvName: string;
  fate: Fate;
  /** Absolute expiry the server acknowledged (ms); -1 once deleted. */
  expiresAt: number;
  rounds: number;
}

export interface SoakStats {
  rounds: number;
  puts: number;
  patches: number;
  deletes: number;
  queries: number;
  /** Registrations verified gone after expiry or delete. */
  verifiedGone: number;
  /** Acknowledged, not expired, yet not resolvable (or a heartbeat said 404). */
  lost: string[];
  /** Deleted or expired, yet still resolvable. */
  stale: string[];
  dnsErrors: string[];
  httpErrors: string[];
  /** Heartbeats the driver itself sent too late (the service had expired): not a server fault. */
  lateHeartbeats: number;
  tracked: number;
}

const MAX_LISTED = 20;

export class SoakDriver {
  readonly stats: SoakStats = { rounds: 0, puts: 0, patches: 0, deletes: 0, queries: 0, verifiedGone: 0, lost: [], stale: [], dnsErrors: [], httpErrors: [], lateHeartbeats: 0, tracked: 0 };
  private tracked = new Map<string, Tracked>();
  private seq = 0;
  private readonly dns: UdpMux;

  constructor(readonly t: SoakTarget, readonly o: SoakOptions) {
    this.dns = new UdpMux(t.dnsHost, t.dnsPort);
  }

  async close(): Promise<void> {
    await this.dns.close();
  }

  private note(list: string[], what: string): void {
    if (list.length < MAX_LISTED) list.push(what);
    else if (list.length === MAX_LISTED) list.push('...');
  }

  private async http(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> | null }> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.t.secret) headers.authorization = this.t.secret;
    const res = await fetch(`${this.t.api}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  }

  private expiresOf(json: Record<string, unknown> | null): number {
    return Date.parse(String(json?.Expires));
  }

  private async register(): Promise<void> {
    const n = this.seq++;
    const uuid = `soak-${n}`;
    const host = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const fate: Fate = n % 3 === 0 ? 'keep' : n % 3 === 1 ? 'lapse' : 'delete';
    const region = n % 2 ? 'east' : 'west';
    const svc = { Name: `svc${n % 7}`, Version: '1.0', Environment: 'soak', Region: region, Host: host, Port: 1000 + (n % 60000), TTL: this.o.ttl };
    const r = await this.http('PUT', `/skydns/services/${uuid}`, svc);
    this.stats.puts++;
    if (r.status !== 201) return this.note(this.stats.httpErrors, `PUT ${uuid}: ${r.status} ${JSON.stringify(r.json)}`);
    const srvName = `${uuid}.${host.replace(/\./g, '-')}.${region}.1-0.${svc.Name}.soak.${this.t.zone}`;
    this.tracked.set(uuid, { uuid, host, srvName, fate, expiresAt: this.expiresOf(r.json), rounds: 0 });
  }

  private async heartbeat(s: Tracked): Promise<void> {
    const r = await this.http('PATCH', `/skydns/services/${s.uuid}`, {});
    this.stats.patches++;
    if (r.status === 200) s.expiresAt = this.expiresOf(r.json);
    else if (r.status === 404 && this.o.now() < s.expiresAt - this.o.marginMs) this.note(this.stats.lost, `${s.uuid}: heartbeat answered 404 ${Math.round(s.expiresAt - this.o.now())} ms before its expiry`);
    else if (r.status === 404) {
      this.stats.lateHeartbeats++;
      s.fate = 'lapse';
    }
    else this.note(this.stats.httpErrors, `PATCH ${s.uuid}: ${r.status} ${JSON.stringify(r.json)}`);
  }

  private async remove(s: Tracked): Promise<void> {
    const r = await this.http('DELETE', `/skydns/services/${s.uuid}`);
    this.stats.deletes++;
    if (r.status === 200) s.expiresAt = -1;
    else if (r.status === 404 && this.o.now() >= s.expiresAt - this.o.marginMs) s.expiresAt = -1; // it had just expired
    else this.note(this.stats.httpErrors, `DELETE ${s.uuid}: ${r.status} ${JSON.stringify(r.json)}`);
  }

  /** Whether `s` resolves over DNS (A through synth, SRV through skydns); null when a query failed. */
  private async resolves(s: Tracked): Promise<boolean | null> {
    try {
      this.stats.queries += 2;
      const [a, srv] = await Promise.all([this.dns.query(`${s.uuid}.${this.t.zone}`, 'A'), this.dns.query(s.srvName, 'SRV')]);
      for (const m of [a, srv]) if (m.rcode !== 0 && m.rcode !== 3) throw new Error(`rcode ${m.rcode}`);
      const hasA = a.rcode === 0 && (a.answers ?? []).some((r) => r.type === 'A' && r.data === s.host);
      const hasSrv = srv.rcode === 0 && (srv.answers ?? []).some((r) => r.type === 'SRV');
      if (hasA !== hasSrv) throw new Error(`A ${hasA ? 'resolves' : 'does not'} but SRV ${hasSrv ? 'does' : 'does not'}`);
      return hasA;
    } catch (e) {
      this.note(this.stats.dnsErrors, `${s.uuid}: ${(e as Error).message}`);
      return null;
    }
  }

  private async check(s: Tracked): Promise<void> {
    const now = this.o.now();
    const live = s.expiresAt > 0 && now < s.expiresAt - this.o.marginMs;
    const gone = s.expiresAt === -1 || now >= s.expiresAt + this.o.marginMs;
    if (!live && !gone) return;
    const r = await this.resolves(s);
    if (r === null) return;
    if (live && !r) this.note(this.stats.lost, `${s.uuid}: acknowledged until ${new Date(s.expiresAt).toISOString()} but not resolvable`);
    if (gone && r) this.note(this.stats.stale, `${s.uuid}: ${s.expiresAt === -1 ? 'deleted' : 'expired'} but still resolvable`);
    if (gone && !r) {
      this.stats.verifiedGone++;
      this.tracked.delete(s.uuid);
    }
  }

  private async pool<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }));
  }

  /** One round of writes, then checks of everything tracked, then extra load; `stepMs` moves an injected clock. */
  async round(stepMs = 0): Promise<void> {
    const room = this.o.maxTracked - this.tracked.size;
    await this.pool(Array.from({ length: Math.max(0, Math.min(this.o.putsPerRound, room)) }, (_, i) => i), () => this.register());
    const all = [...this.tracked.values()];
    const now = this.o.now();
    for (const s of all) {
      if (++s.rounds > this.o.keepRounds && s.fate === 'keep') s.fate = 'lapse';
    }
    await this.pool(all.filter((s) => s.fate === 'keep' && s.expiresAt > 0 && s.expiresAt - now < (this.o.ttl * 1000) / 2), (s) => this.heartbeat(s));
    await this.pool(all.filter((s) => s.fate === 'delete' && s.expiresAt > 0 && s.rounds >= 2), (s) => this.remove(s));
    if (stepMs && this.o.advance) this.o.advance(stepMs);
    await this.pool([...this.tracked.values()], (s) => this.check(s));
    await this.pool(Array.from({ length: this.o.extraQueries }, (_, i) => i), async (i) => {
      this.stats.queries++;
      try {
        const m = await this.dns.query(`svc${i % 7}.soak.${this.t.zone}`, i % 2 ? 'SRV' : 'A');
        if (m.rcode !== 0 && m.rcode !== 3) throw new Error(`rcode ${m.rcode}`);
      } catch (e) {
        this.note(this.stats.dnsErrors, `svc${i % 7}: ${(e as Error).message}`);
      }
    });
    this.stats.rounds++;
    this.stats.tracked = this.tracked.size;
  }

  /** Services tracked and believed live now. */
  liveCount(): number {
    const now = this.o.now();
    return [...this.tracked.values()].filter((s) => s.expiresAt > now).length;
  }
}
