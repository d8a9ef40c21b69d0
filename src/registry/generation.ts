/**
 * The generation of the answers built from a registry: what the zone plugins
 * (skydns, synth) key their kept answers on and what a cache's `depends`
 * checks.
 *
 * The registry's `version` moves on every committed change, heartbeats
 * included. Dropping every kept answer on each heartbeat would leave a large
 * deployment (100k services, each heartbeating every TTL/3) with no kept
 * answers at all. A heartbeat of a service that expires only moves its expiry
 * later, and every answer built from the registry is already bounded by the
 * earliest expiry of the records in it (plugins/skydns/lifetime.ts, synth's
 * memo), so it stays correct until then, only conservative: it is rebuilt,
 * with the new lifetimes, when the old expiry comes. So the generation moves
 * on every change except such refreshes. A refresh of a NoExpire service does
 * move it (its registered TTL is what answers carry).
 *
 * It can only err towards moving: the registry's version must have advanced
 * by exactly the number of those refreshes announced since the last look, with
 * no other event, or the generation moves (a change announced without an
 * event, or a batch read half way, just drops the kept answers).
 */
import type { Generation } from '../plugin.js';
import { distinctServiceNames } from './names.js';
import type { Registry } from './types.js';

export class AnswerGeneration implements Generation {
  private gen = 0;
  private seen: number;
  private refreshes = 0;
  private other = false;

  constructor(private readonly registry: Registry) {
    this.seen = registry.version;
    registry.onChange((ev) => {
      if (ev.kind === 'refresh' && ev.service.expiresAt !== Infinity) this.refreshes++;
      else this.other = true;
    });
  }

  get version(): number {
    const v = this.registry.version;
    if (v !== this.seen) {
      if (this.other || v - this.seen !== this.refreshes) this.gen++;
      this.seen = v;
      this.refreshes = 0;
      this.other = false;
    }
    return this.gen;
  }
}

const generations = new WeakMap<Registry, AnswerGeneration>();

/** The one generation of `registry`'s answers, shared by every plugin that reads it. */
export function answerGeneration(registry: Registry): AnswerGeneration {
  let g = generations.get(registry);
  if (!g) generations.set(registry, (g = new AnswerGeneration(registry)));
  return g;
}

/**
 * How many answers a plugin's answer map should hold for `registry` (the
 * `"auto"` size of skydns's `wireCache` and synth's `memo`): max(`min`, 2 ×
 * the distinct service names), room for every name's SRV and A entries, so a
 * sweep over all of them does not evict. Recounted (a scan) at most once per
 * answers generation — heartbeats do not trigger it — and only when asked,
 * which the maps do when they are full.
 */
export function answerCapacity(registry: Registry, min: number): () => number {
  const generation = answerGeneration(registry);
  let seen = NaN;
  let cap = min;
  return () => {
    if (generation.version !== seen) {
      seen = generation.version;
      cap = Math.max(min, 2 * distinctServiceNames(registry.list()));
    }
    return cap;
  };
}
