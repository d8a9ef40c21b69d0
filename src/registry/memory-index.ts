/**
 * The in-memory index every backend keeps and every DNS lookup reads. It holds
 * committed records, including ones whose time has passed but that the sweeper
 * has not removed yet: each read takes `now` and hides those.
 *
 * - uuid → record and its six DNS labels, computed once when it is stored
 *   (keys lowercased: UUIDs are DNS labels)
 * - (environment, name) → records, so a query naming both is not a full scan
 * - environment → its (environment, name) buckets, so "is anything registered in
 *   this environment?" (the existence of `_tcp.<environment>`, see zone-names.ts)
 *   stops at the first live record instead of scanning
 * - a lazy min-heap of expiry times, so the sweeper finds due records without a scan
 * - the stored callbacks
 */
import { labelsOf, uuidKey } from './names.js';
import { compilePattern, matchesLabels } from './pattern.js';
import type { Callback, FieldName, ServicePattern, StoredService } from './types.js';

/** A stored record with its labels (what every query compares). */
interface Slot {
  svc: StoredService;
  readonly labels: Readonly<Record<FieldName, string>>;
}

interface HeapEntry {
  at: number;
  key: string;
}

/**
 * Min-heap on `at`. Entries go stale when a record is refreshed or removed;
 * readers check. The times live in a Float64Array beside an array of keys:
 * with 100k records and their refreshes that is hundreds of thousands of
 * entries, which as objects (each with a boxed double) were ~50 bytes apiece
 * of long-lived heap.
 */
class ExpiryHeap {
  private at = new Float64Array(1024);
  private keys: string[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  push(e: HeapEntry): void {
    if (this.n === this.at.length) {
      const grown = new Float64Array(this.at.length * 2);
      grown.set(this.at);
      this.at = grown;
    }
    const at = this.at;
    const keys = this.keys;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p]! <= e.at) break;
      at[i] = at[p]!;
      keys[i] = keys[p]!;
      i = p;
    }
    at[i] = e.at;
    keys[i] = e.key;
  }

  peek(): HeapEntry | undefined {
    return this.n === 0 ? undefined : { at: this.at[0]!, key: this.keys[0]! };
  }

  pop(): HeapEntry | undefined {
    if (this.n === 0) return undefined;
    const at = this.at;
    const keys = this.keys;
    const top = { at: at[0]!, key: keys[0]! };
    const n = --this.n;
    const lastAt = at[n]!;
    const lastKey = keys[n]!;
    keys.length = n;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && at[l + 1]! < at[l]! ? l + 1 : l;
      if (at[c]! >= lastAt) break;
      at[i] = at[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    at[i] = lastAt;
    keys[i] = lastKey;
    return top;
  }

  clear(): void {
    this.at = new Float64Array(1024);
    this.keys = [];
    this.n = 0;
  }
}

/** Whether two versions of a record have the same labels (the fields are compared as given, so cheaply). */
function sameLabels(a: StoredService, b: StoredService): boolean {
  return a.UUID === b.UUID && a.Host === b.Host && a.Region === b.Region && a.Version === b.Version && a.Name === b.Name && a.Environment === b.Environment;
}

function bucketKey(environment: string, name: string): string {
  return `${environment}\u0000${name}`;
}

export class MemoryIndex {
  private readonly byKey = new Map<string, Slot>();
  private readonly byEnvName = new Map<string, Set<Slot>>();
  private readonly byEnv = new Map<string, Set<Set<Slot>>>();
  private readonly heap = new ExpiryHeap();
  /** Callback id (lowercased) → callback. */
  readonly callbackMap = new Map<string, Callback>();

  get size(): number {
    return this.byKey.size;
  }

  /** The committed record, live or not. */
  getRaw(uuid: string): StoredService | undefined {
    return this.byKey.get(uuidKey(uuid))?.svc;
  }

  /** The record if it is live at `now`. */
  get(uuid: string, now: number): StoredService | undefined {
    const s = this.byKey.get(uuidKey(uuid))?.svc;
    return s && s.expiresAt > now ? s : undefined;
  }

  set(svc: StoredService): void {
    const key = uuidKey(svc.UUID);
    const old = this.byKey.get(key);
    if (old && sameLabels(old.svc, svc)) {
      // A heartbeat (or a change outside the labels): same labels, same bucket.
      old.svc = svc;
      this.schedule(svc, key);
      return;
    }
    this.delete(key);
    const slot: Slot = { svc, labels: labelsOf(svc) };
    this.byKey.set(key, slot);
    const b = bucketKey(slot.labels.environment, slot.labels.name);
    let set = this.byEnvName.get(b);
    if (!set) {
      this.byEnvName.set(b, (set = new Set()));
      let env = this.byEnv.get(slot.labels.environment);
      if (!env) this.byEnv.set(slot.labels.environment, (env = new Set()));
      env.add(set);
    }
    set.add(slot);
    this.schedule(svc, key);
  }

  private schedule(svc: StoredService, key: string): void {
    if (svc.expiresAt === Infinity) return;
    this.heap.push({ at: svc.expiresAt, key });
    // Refreshes leave stale heap entries behind; rebuild when they dominate.
    if (this.heap.size > 2 * this.byKey.size + 1024) this.rebuildHeap();
  }

  delete(uuid: string): StoredService | undefined {
    const key = uuidKey(uuid);
    const old = this.byKey.get(key);
    if (!old) return undefined;
    this.byKey.delete(key);
    const b = bucketKey(old.labels.environment, old.labels.name);
    const set = this.byEnvName.get(b);
    set?.delete(old);
    if (set && set.size === 0) {
      this.byEnvName.delete(b);
      const env = this.byEnv.get(old.labels.environment);
      env?.delete(set);
      if (env && env.size === 0) this.byEnv.delete(old.labels.environment);
    }
    return old.svc;
  }

  /** Every committed record, expired or not (for snapshots). */
  *all(): IterableIterator<StoredService> {
    for (const s of this.byKey.values()) yield s.svc;
  }

  list(now: number): StoredService[] {
    const out: StoredService[] = [];
    for (const { svc } of this.byKey.values()) if (svc.expiresAt > now) out.push(svc);
    return out;
  }

  /**
   * Live records matching `p`; uses the (environment, name) index when both
   * are concrete. The pattern is normalised once; each record is compared by
   * the labels stored with it.
   */
  query(p: ServicePattern, now: number): StoredService[] {
    const c = compilePattern(p);
    const out: StoredService[] = [];
    if (c.uuid !== undefined) {
      const s = this.byKey.get(c.uuid);
      if (s && s.svc.expiresAt > now && matchesLabels(c, s.labels)) out.push(s.svc);
      return out;
    }
    if (c.environment !== undefined && c.name !== undefined) {
      const bucket = this.byEnvName.get(bucketKey(c.environment, c.name));
      if (!bucket) return out;
      // Every record in the bucket has this environment and name: compare the rest only.
      const rest = compilePattern(p, true);
      for (const s of bucket) if (s.svc.expiresAt > now && matchesLabels(rest, s.labels)) out.push(s.svc);
      return out;
    }
    for (const s of this.byKey.values()) if (s.svc.expiresAt > now && matchesLabels(c, s.labels)) out.push(s.svc);
    return out;
  }

  /**
   * One live record matching `p` (the first found), or undefined: an existence
   * test that stops at the first match. A pattern naming the environment looks
   * only at that environment's buckets.
   */
  first(p: ServicePattern, now: number): StoredService | undefined {
    const c = compilePattern(p);
    if (c.uuid !== undefined) {
      const s = this.byKey.get(c.uuid);
      return s && s.svc.expiresAt > now && matchesLabels(c, s.labels) ? s.svc : undefined;
    }
    if (c.environment !== undefined) {
      const buckets = c.name !== undefined ? [this.byEnvName.get(bucketKey(c.environment, c.name)) ?? []] : this.byEnv.get(c.environment) ?? [];
      for (const bucket of buckets) for (const s of bucket) if (s.svc.expiresAt > now && matchesLabels(c, s.labels)) return s.svc;
      return undefined;
    }
    for (const s of this.byKey.values()) if (s.svc.expiresAt > now && matchesLabels(c, s.labels)) return s.svc;
    return undefined;
  }

  /**
   * Live records per region or environment, merged case-insensitively (as DNS
   * matches them) and keyed by the spelling services registered with, as SkyDNS
   * 1 answered (`{"Production": 5}`). When spellings differ, the one most of
   * the group's services use wins; on a tie, the one first in code-point order
   * ("Production" before "production"), so every node of a cluster and every
   * restart answer alike. An admin answer: a scan is fine.
   */
  countBy(field: 'region' | 'environment', now: number): Record<string, number> {
    const groups = new Map<string, { total: number; spellings: Map<string, number> }>();
    const raw = field === 'region' ? 'Region' : 'Environment';
    for (const s of this.byKey.values()) {
      if (s.svc.expiresAt <= now) continue;
      const key = s.labels[field];
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { total: 0, spellings: new Map() }));
      g.total++;
      const spelling = s.svc[raw];
      g.spellings.set(spelling, (g.spellings.get(spelling) ?? 0) + 1);
    }
    const counts: Array<[string, number]> = [];
    for (const g of groups.values()) {
      let best = '';
      let most = 0;
      for (const [spelling, n] of g.spellings) if (n > most || (n === most && spelling < best)) [best, most] = [spelling, n];
      counts.push([best, g.total]);
    }
    // Keys in code-point order, as Go's encoding/json wrote SkyDNS 1's map (its tests compared the bytes).
    return Object.fromEntries(counts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /**
   * Records whose current expiry is at or before `now`, taken off the heap.
   * They stay in the index (hidden from reads) until the backend deletes them.
   */
  takeDue(now: number): StoredService[] {
    const out = new Set<StoredService>(); // the same record may sit in the heap twice
    for (let e = this.heap.peek(); e && e.at <= now; e = this.heap.peek()) {
      this.heap.pop();
      const s = this.byKey.get(e.key)?.svc;
      if (s && s.expiresAt === e.at) out.add(s);
    }
    return [...out];
  }

  /** Earliest pending expiry (may be a stale entry: waking early is harmless). */
  nextExpiry(): number | undefined {
    return this.heap.peek()?.at;
  }

  private rebuildHeap(): void {
    this.heap.clear();
    for (const [key, { svc }] of this.byKey) if (svc.expiresAt !== Infinity) this.heap.push({ at: svc.expiresAt, key });
  }
}
