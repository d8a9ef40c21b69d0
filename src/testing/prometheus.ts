/**
 * Reads the Prometheus text exposition format (version 0.0.4) the way a
 * scraper does, strictly: every line is a `# HELP`, a `# TYPE`, another
 * comment, blank, or a sample `name{label="value",...} value [timestamp]`;
 * anything else throws. Tests scrape a metrics endpoint and look samples up.
 *
 *   const m = parsePrometheus(await (await fetch(url)).text());
 *   assert.equal(m.value('skydns_dns_requests_total', { type: 'A', transport: 'udp' }), 2);
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family name → type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  help: Map<string, string>;
  /** The value of the one sample with this name whose labels include `labels`; undefined if none, throws if several. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Sum over the samples with this name whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/;

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const n = Number(s);
  if (s === '' || Number.isNaN(n)) throw new Error(`line ${line}: "${s}" is not a sample value`);
  return n;
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseSample(text: string, line: number): Sample {
  const nm = NAME.exec(text);
  if (!nm) throw new Error(`line ${line}: no metric name in "${text}"`);
  let rest = text.slice(nm[0].length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const lm = LABEL.exec(rest);
      if (!lm) throw new Error(`line ${line}: bad label in "${text}"`);
      if (lm[1]! in labels) throw new Error(`line ${line}: label ${lm[1]} twice`);
      labels[lm[1]!] = unescape(lm[2]!);
      rest = rest.slice(lm[0].length);
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`line ${line}: expected , or } in "${text}"`);
    }
    rest = rest.slice(1);
  }
  if (!/^[ \t]/.test(rest)) throw new Error(`line ${line}: no space before the value in "${text}"`);
  const parts = rest.trim().split(/[ \t]+/);
  if (parts.length > 2) throw new Error(`line ${line}: trailing text in "${text}"`);
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp in "${text}"`);
  return { name: nm[0], labels, value: parseValue(parts[0]!, line) };
}

function matches(s: Sample, name: string, labels: Record<string, string>): boolean {
  return s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
}

export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3] ?? '')) throw new Error(`line ${i + 1}: unknown type "${meta[3]}"`);
        if (types.has(meta[2]!)) throw new Error(`line ${i + 1}: second TYPE for ${meta[2]}`);
        types.set(meta[2]!, meta[3]!);
      } else help.set(meta[2]!, meta[3] ?? '');
      continue;
    }
    if (line.startsWith('#')) continue;
    samples.push(parseSample(line, i + 1));
  }
  return {
    samples,
    types,
    help,
    value(name, labels = {}) {
      const found = samples.filter((s) => matches(s, name, labels));
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
    sum(name, labels = {}) {
      return samples.filter((s) => matches(s, name, labels)).reduce((a, s) => a + s.value, 0);
    },
  };
}
