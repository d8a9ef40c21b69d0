/**
 * The primary's side of the registry protocol (ipc-protocol.ts): it owns the
 * one real Registry of a `workers` group (embedded: the data directory has
 * exactly one owner process; etcd: one mirror and one lease keeper) and
 * serves it to every attached worker channel.
 *
 * - `hello`: the worker gets a snapshot of the live services, the callbacks,
 *   the version and readiness, taken synchronously, so every later change
 *   reaches it as an event after the snapshot and none before.
 * - Committed changes (the registry's onChange, in commit order) go to every
 *   subscribed worker as events carrying the registry's version.
 * - Writes run against the registry in the order they arrive; the reply is
 *   sent after the events the write produced, so the worker that asked can
 *   read its own write when the reply resolves its promise.
 * - Changes that have no event (callbacks, etcd re-lists, readiness) go out
 *   as `state`: after every callback write, and on a poll of `version`,
 *   `ready()` and staleness (`pollMs`), which also catches other etcd nodes'
 *   callbacks.
 */
import type { Logger } from '../logger.js';
import type { Channel } from './ipc-channel.js';
import { errorToWire, toWire, WRITE_OPS, type ToPrimary, type ToWorker, type WireState, type WriteOp } from './ipc-protocol.js';
import type { Callback, PutOptions, Registry, RegistryEvent, Service } from './types.js';

export interface RegistryHostOptions {
  logger: Logger;
  /** How often version and readiness are checked for changes without an event (default 1000 ms). */
  pollMs?: number;
}

type Dist<T> = T extends unknown ? Omit<T, 'seq'> : never;

interface Peer {
  channel: Channel;
  subscribed: boolean;
  seq: number;
  off: Array<() => void>;
}

export class RegistryHost {
  private readonly peers = new Set<Peer>();
  private readonly offChange: () => void;
  private readonly poll: NodeJS.Timeout;
  private sent: { version: number; ready: boolean; stale: string };
  private closed = false;

  constructor(private readonly registry: Registry, private readonly o: RegistryHostOptions) {
    this.sent = { version: registry.version, ready: registry.ready(), stale: this.staleKey() };
    this.offChange = registry.onChange((ev) => this.onEvent(ev));
    this.poll = setInterval(() => this.checkState(), o.pollMs ?? 1000);
    this.poll.unref();
  }

  /** Serves the registry on `channel` until it closes; returns the detach function. */
  attach(channel: Channel): () => void {
    const peer: Peer = { channel, subscribed: false, seq: 0, off: [] };
    this.peers.add(peer);
    const detach = (): void => {
      for (const f of peer.off) f();
      this.peers.delete(peer);
    };
    peer.off.push(channel.onMessage((m) => this.onMessage(peer, m as unknown as ToPrimary)));
    peer.off.push(channel.onClose(detach));
    return detach;
  }

  /** Stops serving: detaches every channel and unsubscribes from the registry (which the caller closes). */
  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    this.offChange();
    for (const p of [...this.peers]) {
      for (const f of p.off) f();
    }
    this.peers.clear();
  }

  /** Numbers every message but replies; a reply carries the number of the last message before it. */
  private send(peer: Peer, msg: Dist<ToWorker>): void {
    if (msg.op !== 'reply') peer.seq++;
    peer.channel.send({ ...msg, seq: peer.seq } as ToWorker);
  }

  private state(): WireState {
    const st = this.registry.staleness?.();
    return { version: this.registry.version, ready: this.registry.ready(), callbacks: this.registry.callbacks() as Callback[], ...(st ? { staleness: st } : {}) };
  }

  /** What of the staleness the workers must hear about when it changes (not the ever-moving lag). */
  private staleKey(): string {
    const st = this.registry.staleness?.();
    return st ? `${st.stale}/${st.readAt ?? ''}` : '';
  }

  private onEvent(ev: RegistryEvent): void {
    const version = this.registry.version;
    this.sent.version = version;
    const service = toWire(ev.service);
    for (const p of this.peers) if (p.subscribed) this.send(p, { sky: 'registry', op: 'event', version, kind: ev.kind, service });
  }

  /** Sends `state` to every subscriber if the version or readiness moved since the last message said so. */
  private checkState(force = false): void {
    const version = this.registry.version;
    const ready = this.registry.ready();
    const stale = this.staleKey();
    if (!force && version === this.sent.version && ready === this.sent.ready && stale === this.sent.stale) return;
    this.sent = { version, ready, stale };
    const state = this.state();
    for (const p of this.peers) if (p.subscribed) this.send(p, { sky: 'registry', op: 'state', state });
  }

  private onMessage(peer: Peer, m: ToPrimary): void {
    if (m.sky !== 'registry' || this.closed) return;
    if (m.op === 'hello') {
      const services = this.registry.list().map(toWire);
      peer.subscribed = true;
      this.send(peer, { sky: 'registry', op: 'snapshot', state: this.state(), services });
      return;
    }
    if (m.op === 'bye') {
      peer.subscribed = false;
      return;
    }
    if (!WRITE_OPS.includes(m.op) || typeof m.id !== 'number' || !Array.isArray(m.args)) {
      this.o.logger.warn({ op: (m as { op?: unknown }).op }, 'ignoring a malformed registry request from a worker');
      return;
    }
    const { id } = m;
    this.run(m.op, m.args).then(
      (value) => {
        if (m.op === 'putCallback' || m.op === 'removeCallback') this.checkState(true);
        this.send(peer, { sky: 'registry', op: 'reply', id, ok: true, value });
      },
      (err: unknown) => this.send(peer, { sky: 'registry', op: 'reply', id, ok: false, error: errorToWire(err) }),
    );
  }

  private async run(op: WriteOp, args: unknown[]): Promise<unknown> {
    const r = this.registry;
    switch (op) {
      case 'put': return toWire(await r.put(args[0] as Service, { replace: (args[1] as PutOptions | undefined)?.replace === true }));
      case 'refresh': return toWire(await r.refresh(args[0] as string, args[1] as number | undefined));
      case 'remove': return toWire(await r.remove(args[0] as string));
      case 'putCallback': return r.putCallback(args[0] as Callback);
      case 'removeCallback': return r.removeCallback(args[0] as string);
      case 'flush': return r.flush();
    }
  }
}
