/**
 * Registry metrics, for whichever plugin opens the registry (api, skydns,
 * synth all call `instrumentRegistry` after `ctx.registry()`; only the first
 * call per app subscribes, so nothing is counted twice):
 *
 *   skydns_registry_services              gauge, live services, read at scrape time
 *   skydns_registry_changes_total{kind}   committed changes: put, refresh, remove, expire
 *   skydns_registry_mirror_lag_seconds    real seconds since a mirroring backend last heard from its
 *                                         source (etcd: a probe or watch response, about every second)
 *
 * A backend that mirrors a cluster (etcd) reports its lag by implementing
 * `MirrorStatus`; the gauge is only registered for such a backend.
 */
import type { Metrics } from '../metrics.js';
import type { Registry } from './types.js';

/** Implemented by backends that serve from a local mirror of a remote store. */
export interface MirrorStatus {
  /** Seconds since the local mirror last heard from its source (it was in step then); undefined while unknown. */
  mirrorLagSeconds(): number | undefined;
}

export function hasMirrorStatus(r: Registry): r is Registry & MirrorStatus {
  return typeof (r as Partial<MirrorStatus>).mirrorLagSeconds === 'function';
}

interface Instrumented {
  registry: Registry;
  unsubscribe: () => void;
}

const instrumented = new WeakMap<Metrics, Instrumented>();

/** Counts `registry`'s changes into `metrics`, once per pair; a later different registry replaces the earlier one. */
export function instrumentRegistry(metrics: Metrics, registry: Registry): void {
  const prev = instrumented.get(metrics);
  if (prev?.registry === registry) return;
  prev?.unsubscribe();
  const current = (): Registry | undefined => instrumented.get(metrics)?.registry;
  metrics.gauge('registry_services', 'Live services in the registry.', [], function () {
    const r = current();
    if (r?.ready()) this.set(r.list().length);
  });
  const changes = metrics.counter('registry_changes_total', 'Committed registry changes: put (registration), refresh (heartbeat), remove, expire.', ['kind']);
  for (const kind of ['put', 'refresh', 'remove', 'expire']) changes.inc({ kind }, 0);
  if (hasMirrorStatus(registry)) {
    metrics.gauge('registry_mirror_lag_seconds', 'Seconds since this node last heard from the registry\'s source (etcd): its copy was known to be in step then.', [], function () {
      const r = current();
      const lag = r && hasMirrorStatus(r) ? r.mirrorLagSeconds() : undefined;
      if (lag !== undefined) this.set(lag);
    });
  }
  const unsubscribe = registry.onChange((ev) => changes.inc({ kind: ev.kind }));
  instrumented.set(metrics, { registry, unsubscribe });
}
