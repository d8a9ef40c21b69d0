/**
 * Durations in plugin options: an integer number of milliseconds, or a string
 * of Go-style parts ("250ms", "2s", "1m30s", "1h") as CoreDNS writes them.
 * Shared by every plugin's schema (cache, forward, ...).
 */

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export type Duration = number | string;

/** JSON schema for a duration option. */
export function durationSchema(dflt: Duration, description: string): Record<string, unknown> {
  return {
    anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h))+$' }],
    default: dflt,
    description: `${description} (milliseconds, or a string like "500ms", "2s", "1m30s")`,
  };
}

/** Milliseconds in `d` (already validated by `durationSchema`). */
export function toMs(d: Duration): number {
  if (typeof d === 'number') return d;
  let ms = 0;
  for (const m of d.matchAll(PART)) ms += Number(m[1]) * UNIT[m[2]!]!;
  return Math.round(ms);
}
