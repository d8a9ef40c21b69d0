/**
 * Option keys renamed to camelCase (the one style of every Skyfile key). The
 * old snake_case spelling is accepted for one release (0.2): the loader
 * renames it before schema validation and records a warning naming the new
 * key, which `serve` logs and `check` prints. Drop this table in the release
 * after.
 *
 * Each entry is [old path, new key] inside a plugin's options; the old path's
 * parents are written in the new spelling, so nested renames apply in order.
 */
import { SkyError } from '../errors.js';
import type { Position } from './locate.js';

const renamed: Record<string, [string, string][]> = {
  cache: [
    ['denial_capacity', 'denialCapacity'],
    ['max_ttl', 'maxTtl'],
    ['denial_max_ttl', 'denialMaxTtl'],
    ['min_ttl', 'minTtl'],
    ['servfail_ttl', 'servfailTtl'],
    ['serve_stale', 'serveStale'],
    ['serveStale.max_stale', 'maxStale'],
    ['serveStale.client_timeout', 'clientTimeout'],
  ],
  forward: [
    ['prefer_udp', 'preferUdp'],
    ['force_tcp', 'forceTcp'],
    ['max_fails', 'maxFails'],
    ['health_check', 'healthCheck'],
    ['try_timeout', 'tryTimeout'],
    ['max_concurrent', 'maxConcurrent'],
    ['servfail_when_all_down', 'servfailWhenAllDown'],
  ],
  ratelimit: [
    ['responses_per_second', 'responsesPerSecond'],
    ['ipv4_prefix', 'ipv4Prefix'],
    ['ipv6_prefix', 'ipv6Prefix'],
    ['any_ttl', 'anyTtl'],
    ['max_buckets', 'maxBuckets'],
  ],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Renames old keys in `options` of plugin `plugin` (in place), whose key path
 * is `prefix` (`chain[3].cache`). Positions of renamed keys are copied to the
 * new path so later errors still name their line. Returns one warning per
 * renamed key; both spellings at once is an error.
 */
export function renameOldKeys(plugin: string, options: Record<string, unknown>, prefix: string, positions: Map<string, Position>): string[] {
  const warnings: string[] = [];
  for (const [oldPath, newKey] of renamed[plugin] ?? []) {
    const parts = oldPath.split('.');
    const oldKey = parts.pop()!;
    let parent: unknown = options;
    for (const p of parts) parent = isObject(parent) ? parent[p] : undefined;
    if (!isObject(parent) || !(oldKey in parent)) continue;
    const at = [prefix, ...parts].join('.');
    if (newKey in parent) {
      const pos = positions.get(`${at}.${oldKey}`);
      throw new SkyError('SKY_ERR_CONFIG_INVALID', `${at}: both "${oldKey}" and "${newKey}" are set; keep only ${newKey} (${oldKey} is its old spelling)`, { path: `${at}.${oldKey}`, ...pos });
    }
    parent[newKey] = parent[oldKey];
    delete parent[oldKey];
    for (const [p, pos] of [...positions]) {
      const from = `${at}.${oldKey}`;
      if (p === from || p.startsWith(`${from}.`) || p.startsWith(`${from}[`)) positions.set(`${at}.${newKey}${p.slice(from.length)}`, pos);
    }
    const line = positions.get(`${at}.${oldKey}`)?.line;
    warnings.push(`${at}.${oldKey}${line === undefined ? '' : ` (line ${line})`} is the old spelling of ${newKey}: it still works in this release; write ${newKey}`);
  }
  return warnings;
}

/** The old spellings, for tests and docs: plugin → [old path, new key]. */
export const renamedKeys: Readonly<Record<string, readonly (readonly [string, string])[]>> = renamed;
