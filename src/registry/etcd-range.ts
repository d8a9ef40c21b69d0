/**
 * Reading a whole prefix from etcd at one revision, in pages (a single answer
 * for a large registry could pass gRPC's 4 MB message limit). Later pages
 * name the first page's revision, so all of them show the same moment; if
 * that revision is compacted meanwhile the read fails and the caller retries.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { DeadlineError, withDeadline } from './etcd-client.js';

const PAGE = 500;

/** The smallest key after every key that starts with `p`. */
export function prefixEnd(p: string): Buffer {
  const b = Buffer.from(p);
  b[b.length - 1]! += 1; // our prefixes end in '/', never 0xff
  return b;
}

/** Every key under `prefix` at revision `rev` (0: now), and that revision. */
export async function rangeAll(client: Etcd3, prefix: string, rev: number, timeoutMs: number): Promise<{ rev: number; kvs: IKeyValue[] }> {
  const kvs: IKeyValue[] = [];
  const end = prefixEnd(prefix);
  let from = Buffer.from(prefix);
  for (;;) {
    const p = client.kv.range({ key: from, range_end: end, limit: PAGE, revision: rev || undefined });
    const res = await withDeadline(p, timeoutMs, () => new DeadlineError(timeoutMs));
    rev ||= Number(res.header.revision);
    kvs.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) return { rev, kvs };
    from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}
