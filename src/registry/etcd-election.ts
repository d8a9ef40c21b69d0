/**
 * Which node fires callbacks. Every node of a cluster sees every removal (its
 * mirror announces it), so exactly one node, elected through etcd, may call
 * the callbacks out.
 *
 * The election is etcd's usual lease-based one: each node holds a key
 * `{prefix}/election/callbacks/{leaseID}` on a lease of its own (kept alive
 * by etcd3's Lease); the key created first (lowest create_revision) wins. The
 * node's mirror already watches the prefix, so it hands the election keys to
 * `evaluate()`: no extra watch per node. When the leader dies its lease runs
 * out (`leaseTtl` seconds), its key goes and the next oldest takes over; when
 * it stops cleanly it revokes the lease and hands over at once.
 *
 * Handover is not instantaneous: a removal announced while a dead leader's
 * lease still runs is fired by nobody, and a leader steps down only once its
 * keepalives have failed for `leaseTtl` (it cannot know sooner that another
 * node may have taken over). Between those windows each removal fires once.
 *
 * This file imports only etcd3's types, so the api plugin can import the
 * `callbackLeadership` guard without loading the etcd client.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../logger.js';

/** What a registry offers when callbacks must fire on one node only. */
export interface CallbackLeadership {
  isCallbackLeader(): boolean;
  /** Calls `fn` on every change of this node's leadership; returns the unsubscribe function. */
  onCallbackLeadership(fn: (leader: boolean) => void): () => void;
}

/** The registry's leadership hooks, or undefined for a single-node backend (it always fires). */
export function callbackLeadership(registry: object): CallbackLeadership | undefined {
  const r = registry as Partial<CallbackLeadership>;
  return typeof r.isCallbackLeader === 'function' && typeof r.onCallbackLeadership === 'function' ? (r as CallbackLeadership) : undefined;
}

export class CallbackElection {
  private leader = false;
  private lease: Lease | undefined;
  /** This node's campaign key once written. */
  private mine: string | undefined;
  /** Whether the mirror has shown `mine` (so its absence later means it is gone). */
  private seen = false;
  private lastKeepalive = 0;
  private keys = new Map<string, number>();
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private readonly check: NodeJS.Timeout;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(
    private readonly client: Etcd3,
    /** `{prefix}/election/callbacks/` */
    readonly keyPrefix: string,
    /** This node's name, stored as its key's value. */
    readonly nodeId: string,
    private readonly leaseTtl: number,
    private readonly logger: Logger,
    /** Runs an etcd call under the registry's deadline. */
    private readonly call: <R>(p: Promise<R>) => Promise<R>,
  ) {
    this.check = setInterval(() => this.decide(), 500);
    this.check.unref();
  }

  start(): void {
    if (this.closed || this.lease) return;
    const lease = this.client.lease(this.leaseTtl);
    this.lease = lease;
    this.lastKeepalive = Date.now();
    lease.on('lost', (err) => this.lost(lease, err.message));
    lease.on('keepaliveSucceeded', () => {
      this.lastKeepalive = Date.now();
    });
    void (async () => {
      const id = await this.call(lease.grant());
      const key = this.keyPrefix + id;
      await this.call(lease.put(key).value(this.nodeId).exec());
      if (this.lease !== lease) return;
      this.mine = key;
      this.seen = false;
      this.failures = 0;
      this.decide();
    })().catch((err: Error) => this.lost(lease, err.message));
  }

  /** The election keys (key → create_revision) as the mirror now holds them. */
  evaluate(keys: Map<string, number>): void {
    this.keys = keys;
    this.decide();
  }

  isLeader(): boolean {
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops campaigning; revoking the lease deletes this node's key, so another node takes over at once. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.check);
    clearTimeout(this.retry);
    this.set(false);
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([lease.revoke().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private decide(): void {
    const mine = this.mine;
    if (this.closed || !mine || !this.lease) return;
    const created = this.keys.get(mine);
    if (created === undefined) {
      // Written but gone from the mirror: the lease ran out in etcd (e.g. cut off for too long).
      if (this.seen) this.lost(this.lease, 'the campaign key was deleted');
      return;
    }
    this.seen = true;
    let oldest = true;
    for (const rev of this.keys.values()) if (rev < created) oldest = false;
    // Past one TTL without a keepalive etcd may have expired the lease: step down until one succeeds.
    const fresh = Date.now() - this.lastKeepalive < this.leaseTtl * 1000;
    if (oldest && fresh && !this.leader) this.logger.info({ node: this.nodeId }, 'elected to fire callbacks for the cluster');
    this.set(oldest && fresh);
  }

  private lost(lease: Lease, why: string): void {
    if (this.lease !== lease) return;
    this.lease = undefined;
    this.mine = undefined;
    const was = this.leader;
    this.set(false);
    lease.revoke().catch(() => undefined);
    if (this.closed) return;
    const delay = Math.min(500 * 2 ** this.failures++, 10_000);
    const line = `callback election: lost the etcd lease or could not campaign (${why}); campaigning again in ${delay} ms`;
    if (was || this.failures === 1) this.logger.warn({ node: this.nodeId }, line);
    else this.logger.debug({ node: this.nodeId }, line);
    this.retry = setTimeout(() => this.start(), delay);
    this.retry.unref();
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    for (const fn of [...this.listeners]) {
      try {
        fn(leader);
      } catch (err) {
        this.logger.error({ err }, 'callback leadership listener threw');
      }
    }
  }
}
