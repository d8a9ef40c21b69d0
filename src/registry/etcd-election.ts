/**
 * Which node fires callbacks. Every node of a cluster sees every removal (its
 * mirror announces it), so exactly one node, elected through etcd, may call
 * the callbacks out. The election is etcd's lease-based one (etcd3's
 * `election().campaign()`, the same algorithm as etcd's Go `concurrency`
 * package): each node holds a key on its own lease under
 * `{prefix}/election/callbacks/`; the oldest key wins. When the leader dies
 * its lease runs out (`leaseTtl` seconds) and the next node takes over; when
 * it stops cleanly it resigns and hands over at once.
 *
 * Handover is not instantaneous: a removal announced during the few seconds a
 * dying leader's lease still runs is fired by nobody, and a leader cut off
 * from etcd keeps firing until its keepalives fail (about `leaseTtl`). Between
 * those windows each removal is fired once.
 *
 * This file only imports etcd3's types, so the api plugin can import the
 * `callbackLeadership` guard without loading the etcd client.
 */
import type { Campaign, Etcd3 } from 'etcd3';
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
  private campaign: Campaign | undefined;
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(
    private readonly client: Etcd3,
    /** Namespace the election lives in (`/skydns/`). */
    private readonly namespace: string,
    /** This node's name in the election (shown as the leader's value). */
    readonly nodeId: string,
    private readonly leaseTtl: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.closed || this.campaign) return;
    const c = this.client.namespace(this.namespace).election('callbacks', this.leaseTtl).campaign(this.nodeId);
    this.campaign = c;
    c.on('elected', () => {
      if (this.campaign !== c || this.closed) return;
      this.failures = 0;
      this.logger.info({ node: this.nodeId }, 'elected to fire callbacks for the cluster');
      this.set(true);
    });
    c.on('error', (err: Error) => {
      if (this.campaign !== c) return;
      this.campaign = undefined;
      const was = this.leader;
      this.set(false);
      c.resign().catch(() => undefined);
      if (this.closed) return;
      const delay = Math.min(500 * 2 ** this.failures++, 10_000);
      const line = `callback election lost its etcd lease or could not campaign (${err.message}); campaigning again in ${delay} ms`;
      if (was || this.failures === 1) this.logger.warn({ node: this.nodeId }, line);
      else this.logger.debug({ node: this.nodeId }, line);
      this.retry = setTimeout(() => this.start(), delay);
      this.retry.unref();
    });
  }

  isLeader(): boolean {
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops campaigning; a leader resigns so another node takes over at once. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.campaign;
    this.campaign = undefined;
    this.set(false);
    if (!c) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([c.resign().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
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
