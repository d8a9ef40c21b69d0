/**
 * The service model shared by every registry backend and by the plugins that
 * read it (api, skydns, synth). Field names follow SkyDNS 1's HTTP API so its
 * clients keep working.
 */

/** A service as registered (the HTTP body of `PUT /skydns/services/{uuid}`). */
export interface Service {
  UUID: string;
  Name: string;
  Version: string;
  Environment: string;
  Region: string;
  /** An IPv4/IPv6 address or a hostname. */
  Host: string;
  Port: number;
  /** Seconds the registration lives without a heartbeat. */
  TTL: number;
  Priority?: number;
  Weight?: number;
  /** SkyDNS 1: the service never expires; it stays until deleted. */
  NoExpire?: boolean;
}

/**
 * The in-memory (and on-disk) record. Instances handed out by a registry are
 * frozen: never mutate them. `expiresAt` is absolute (ms since the epoch) so a
 * restart keeps exactly what has not expired; `Infinity` for NoExpire.
 */
export interface StoredService extends Service {
  readonly expiresAt: number;
}

/**
 * The stored, frozen form of `svc`. Built as one literal in a fixed field
 * order, so every record shares one of a handful of V8 hidden classes: a
 * spread (`{ ...svc, expiresAt }`) gave each of 100k records a map of its own
 * (~300 bytes each). Only the Service fields are kept.
 */
export function storedService(svc: Service, expiresAt: number): StoredService {
  const s: { -readonly [K in keyof StoredService]: StoredService[K] } = {
    UUID: svc.UUID,
    Name: svc.Name,
    Version: svc.Version,
    Environment: svc.Environment,
    Region: svc.Region,
    Host: svc.Host,
    Port: svc.Port,
    TTL: svc.TTL,
    expiresAt,
  };
  if (svc.Priority !== undefined) s.Priority = svc.Priority;
  if (svc.Weight !== undefined) s.Weight = svc.Weight;
  if (svc.NoExpire !== undefined) s.NoExpire = svc.NoExpire;
  return Object.freeze(s);
}

/**
 * A callback registration (SkyDNS 1). When a service matching the filters is
 * removed (DELETE or expiry) the server sends
 * `DELETE http://{Reply}:{Port}/skydns/callbacks/{UUID}` with the service as body.
 * `Name` must equal the service's Name; the other filters apply only when set
 * (absent, empty, `any` or `*` match anything).
 */
export interface Callback {
  /** The callback's own id. */
  UUID: string;
  Name: string;
  Version?: string;
  Environment?: string;
  Region?: string;
  Host?: string;
  /** Host (address or name) to call back. */
  Reply: string;
  Port: number;
}

export type RegistryEventKind = 'put' | 'refresh' | 'remove' | 'expire';

/**
 * A committed change. For `remove` and `expire`, `service` is the record as it
 * was just before it went away.
 */
export interface RegistryEvent {
  kind: RegistryEventKind;
  service: StoredService;
}

/** The six service fields that become DNS labels. */
export type FieldName = 'uuid' | 'host' | 'region' | 'version' | 'name' | 'environment';

/** A query: each field is a concrete value or absent (any). */
export type ServicePattern = Partial<Record<FieldName, string>>;

/**
 * What every plugin talks to. All reads are synchronous from memory (DNS never
 * waits on I/O) and hide records whose `expiresAt <= clock.now()` at once,
 * whether or not the sweeper has removed them yet. Writes resolve only once
 * they are durable; change events fire after that, in commit order.
 */
export interface Registry {
  /** Increments on every committed change (services, expiry, callbacks). */
  readonly version: number;
  /** Loads persisted state; call once before anything else. */
  start(): Promise<void>;
  /**
   * SKY_ERR_REGISTRY_EXISTS if a live service has this UUID (an expired one is
   * replaced), unless `replace`: then the live record is replaced at once, its
   * removal announced ('remove') before the new 'put'.
   */
  put(s: Service, opts?: PutOptions): Promise<StoredService>;
  /** Extends expiry to now + ttl (default: the registered TTL). SKY_ERR_REGISTRY_NOT_FOUND if unknown/expired. */
  refresh(uuid: string, ttl?: number): Promise<StoredService>;
  /** SKY_ERR_REGISTRY_NOT_FOUND if unknown/expired. Resolves to the removed record. */
  remove(uuid: string): Promise<StoredService>;
  get(uuid: string): StoredService | undefined;
  query(p: ServicePattern): StoredService[];
  /** One live service matching `p`, or undefined: `query(p)[0]` without building the list (existence tests). */
  first(p: ServicePattern): StoredService | undefined;
  list(): StoredService[];
  /**
   * Live services per region or environment, merged case-insensitively, each
   * under the spelling most of its services registered with (on a tie, the
   * one first in code-point order): `{"Production": 5}`.
   */
  countBy(field: 'region' | 'environment'): Record<string, number>;
  /** Creates or replaces the callback with this UUID. */
  putCallback(cb: Callback): Promise<Callback>;
  /** SKY_ERR_REGISTRY_NOT_FOUND if unknown. */
  removeCallback(id: string): Promise<Callback>;
  callbacks(): Callback[];
  /** Subscribes to committed changes; returns the unsubscribe function. */
  onChange(fn: (ev: RegistryEvent) => void): () => void;
  /** Resolves once every write issued so far (sweeper removals too) is committed and announced. */
  flush(): Promise<void>;
  ready(): boolean;
  close(): Promise<void>;
  /**
   * Whether the registry can vouch that what it holds is current, so a name
   * it does not hold does not exist (src/registry/freshness.ts). A backend
   * that is its own source (embedded) always can and may leave this out;
   * a mirror of a cluster (etcd) cannot while it has not heard from the
   * cluster for a while. Zone plugins answer SERVFAIL instead of
   * NXDOMAIN/NODATA when it is false.
   */
  vouches?(): boolean;
  /** How current the copy is, for /ready; absent (or undefined) on a backend that is its own source. */
  staleness?(): Staleness | undefined;
}

/** A mirroring registry's distance from its source. */
export interface Staleness {
  /** The registry cannot vouch for its copy (vouches() is false). */
  stale: boolean;
  /** Seconds since it last heard from its source; null before it ever has. */
  lagSeconds: number | null;
  /**
   * While stale and serving stale records: the time (ms, the registry's
   * clock) reads compare expiries with instead of now (freshness.ts). For a
   * `workers` primary to hand on; absent otherwise.
   */
  readAt?: number;
}

/** `registry.vouches()`, true for a backend without the notion. */
export function registryVouches(r: Registry): boolean {
  return r.vouches?.() ?? true;
}

export interface PutOptions {
  /** Take over a live registration of the same UUID (a restarted service). */
  replace?: boolean;
}

/** The API's JSON shape of a service (responses and callback bodies). */
export interface ServiceJSON extends Service {
  /** RFC 3339; absent for NoExpire services. */
  Expires?: string;
}

/**
 * Remaining lifetime in whole seconds (rounded up, never negative). A NoExpire
 * service reports its registered TTL unchanged: that is what DNS answers use.
 */
export function remainingTtl(svc: StoredService, now: number): number {
  if (svc.expiresAt === Infinity) return svc.TTL;
  return Math.max(0, Math.ceil((svc.expiresAt - now) / 1000));
}

/**
 * The HTTP API shape: `TTL` is the remaining TTL and `Expires` the absolute
 * expiry. Choice for NoExpire: `Expires` is omitted, `NoExpire: true` is kept
 * and `TTL` is the registered TTL (often 0).
 */
export function toJSON(svc: StoredService, now: number): ServiceJSON {
  const out: ServiceJSON = {
    UUID: svc.UUID,
    Name: svc.Name,
    Version: svc.Version,
    Environment: svc.Environment,
    Region: svc.Region,
    Host: svc.Host,
    Port: svc.Port,
    TTL: remainingTtl(svc, now),
  };
  if (svc.Priority !== undefined) out.Priority = svc.Priority;
  if (svc.Weight !== undefined) out.Weight = svc.Weight;
  if (svc.expiresAt === Infinity) out.NoExpire = true;
  else out.Expires = new Date(svc.expiresAt).toISOString();
  return out;
}
