/**
 * "did you mean …?" for an unknown Skyfile key: the allowed key at that path
 * closest by edit distance (case and `_` ignored, so `max_fails` finds
 * `maxFails` and `minttl` finds `minTtl`), if it is close enough to be a typo.
 */

/** Levenshtein distance (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

const fold = (s: string) => s.toLowerCase().replace(/[_-]/g, '');

/** The closest of `allowed` to `key`, or undefined when none is within a typo's reach. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of allowed) {
    const d = editDistance(fold(key), fold(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  // A third of the longer name, at least 1 and at most 3 edits: "clas" → "class", not "to" → "from".
  const reach = Math.min(3, Math.max(1, Math.floor(Math.max(key.length, best?.length ?? 0) / 3)));
  return bestDistance <= reach ? best : undefined;
}
