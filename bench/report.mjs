#!/usr/bin/env node
/**
 * Assembles one bench run (the fragments bench/run.sh left in DIR) into
 * bench/results/<date>.md, and puts the same text into bench/README.md between the
 * `<!-- latest-results -->` markers.
 *
 *   node bench/report.mjs --out DIR [--no-readme]
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderScale, renderSuite } from './lib/render.mjs';
import { fmt, table } from './lib/stats.mjs';

const { values: o } = parseArgs({ options: { out: { type: 'string' }, 'no-readme': { type: 'boolean', default: false } } });
if (!o.out) throw new Error('--out DIR is required');
const read = (f) => (existsSync(join(o.out, f)) ? readFileSync(join(o.out, f), 'utf8') : null);
const json = (f) => (read(f) ? JSON.parse(read(f)) : null);

const suite = json('suite.json');
const scale = json('scale.json');
const meta = json('meta.json') ?? {};
const when = suite?.date ?? new Date().toISOString();
const m = suite?.machine ?? {};

const yes = (ok) => (ok === null ? 'not measured' : ok ? 'met' : '**not met**');
const cmp = (x, limit, dir) => (Number.isFinite(x) ? (dir === 'le' ? x <= limit : x >= limit) : null);
const rssMB = scale ? (scale.rssQueried.rssMiB * 1048576) / 1e6 : NaN;
const rssRegMB = scale ? (scale.rssRegistered.rssMiB * 1048576) / 1e6 : NaN;
const equal = json('equal/suite.json'); // the same rows with M small enough that bind9 answers the same records

/**
 * The suite-dependent targets of issue 13, judged on the native UDP path:
 * [label, measured native, measured dgram, verdict (native)] for one data set.
 */
function suiteTargets(su) {
  const ISSUE = ['auth', 'cache', 'fwdCache', 'fwd'];
  const onPath = (path) => (su ? Object.values(su.rows).filter((r) => r.median && r.path === path && ISSUE.includes(r.base)) : []);
  const maxLost = (rs) => (rs.length ? Math.max(...rs.flatMap((r) => r.runs.map((x) => x.sat.lost))) : NaN);
  const worstP99 = (rs) => (rs.length ? Math.max(...rs.map((r) => r.median.fixedP99Ms)) : NaN);
  const R = (path) => su?.ratios?.[path] ?? {};
  const x = (v, unit = ' ×') => (Number.isFinite(v) ? `${fmt(v, 2)}${unit}` : 'n/a');
  const both = (f, unit) => [x(f('native'), unit), x(f('dgram'), unit)];
  const lost = (path) => maxLost(onPath(path));
  return [
    ['authoritative: QPS ≥ 1.3 × bind9 `-n 1`', ...both((p) => R(p).authQpsVsBind9), yes(cmp(R('native').authQpsVsBind9, 1.3, 'ge'))],
    ['authoritative: CPU µs/query ≤ 0.8 × bind9 (each at saturation)', ...both((p) => R(p).authCpuVsBind9), yes(cmp(R('native').authCpuVsBind9, 0.8, 'le'))],
    ['cache hits (SkyDNS with cache): QPS ≥ 1.0 × unbound', ...both((p) => R(p).cacheQpsVsUnbound), yes(cmp(R('native').cacheQpsVsUnbound, 1.0, 'ge'))],
    ['cache hits (SkyDNS forward + cache): QPS ≥ 1.0 × unbound', ...both((p) => R(p).fwdCacheQpsVsUnbound), yes(cmp(R('native').fwdCacheQpsVsUnbound, 1.0, 'ge'))],
    ['forward without cache: QPS ≥ 0.8 × dnsmasq `--cache-size=0`', ...both((p) => R(p).fwdQpsVsDnsmasq), yes(cmp(R('native').fwdQpsVsDnsmasq, 0.8, 'ge'))],
    ['0 lost queries at saturation, 50 outstanding (SkyDNS rows of the issue, every run)', ...['native', 'dgram'].map((p) => (Number.isFinite(lost(p)) ? `${lost(p)} lost at most` : 'n/a')), yes(Number.isFinite(lost('native')) ? lost('native') === 0 : null)],
    [`p99 latency at ${su ? su.params.QPS / 1000 : 10}k QPS under 1 ms (worst SkyDNS row of the issue)`, ...both((p) => worstP99(onPath(p)), ' ms'), yes(cmp(worstP99(onPath('native')), 1, 'le'))],
  ];
}
const dataSet = (su) => (su ? `${su.params.N} × ${su.params.M}` : 'n/a');
const main = suiteTargets(suite);
const eq = equal ? suiteTargets(equal) : null;
const targetRows = main.map((row, i) => (eq ? [...row, eq[i][1], eq[i][2], eq[i][3]] : row));
const scaleTargets = [
  [`${scale ? scale.params.total.toLocaleString('en-US') : '100k'} services: RSS under 300 MB (after queries; right after registration)`, `${fmt(rssMB, 0)} MB; ${fmt(rssRegMB, 0)} MB`, '', yes(cmp(rssMB, 300, 'le'))],
  [`${scale ? scale.params.total.toLocaleString('en-US') : '100k'} services: restart under 5 s`, scale ? `${fmt(scale.restartAnswerSeconds, 2)} s` : 'n/a', '', yes(scale ? scale.restartAnswerSeconds < 5 : null)],
];
const head = (set) => [`native, ${set}`, `dgram, ${set}`, 'verdict (native)'];
const targetsMd = eq
  ? table(['target', ...head(dataSet(suite)), ...head(`${dataSet(equal)} (same records in every answer)`)], [...targetRows, ...scaleTargets.map((r) => [...r, '', '', ''])])
  : table(['target', ...head(dataSet(suite))], [...targetRows, ...scaleTargets]);

const sections = [
  `Date: ${when.slice(0, 19).replace('T', ' ')} UTC  `,
  `Machine: \`nproc\` ${m.nproc}, ${m.cpu}, kernel ${m.kernel}, Node ${m.node}  `,
  `Tools: ${m.dnsperf}; ${m.named}; ${m.unbound}; ${m.dnsmasq ?? "dnsmasq n/a"}; ${m.perf ?? "perf n/a"}  `,
  `SkyDNS: commit ${meta.commit ?? 'n/a'} (dist/ as built then)  `,
  `Load average (1, 5, 15 min): ${meta.loadStart ?? suite?.loadStart ?? 'n/a'} at the start, ${meta.loadEnd ?? suite?.loadEnd ?? 'n/a'} at the end${meta.note ? `  \n${meta.note}` : ''}`,
  '',
  '<details><summary><code>lscpu | head</code></summary>',
  '',
  '```',
  m.lscpu ?? '',
  '```',
  '',
  '</details>',
  '',
  '### Targets (issue 13; scale targets from issue 7)',
  '',
  targetsMd,
  '',
  suite ? renderSuite(suite) : read('suite.md'),
  equal && `The same rows with ${dataSet(equal)}: few enough instances that bind9 fills the additional section too, so every server answers the same records (compare the answer bytes column).\n\n${renderSuite(equal)}`,
  scale ? renderScale(scale) : read('scale.md'),
  read('registry.md') && `### Registration throughput (\`bench/registry.mjs\`)\n\n${read('registry.md')}`,
  read('cluster.md') && `### node:cluster and one UDP port (\`bench/experiments/cluster-udp.mjs\`)\n\n${read('cluster.md')}`,
  read('profile.md'),
].filter((x) => x !== null && x !== undefined);
const text = sections.join('\n');

const results = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(results, { recursive: true });
const name = `${when.slice(0, 16).replace(/:/g, '')}Z.md`; // e.g. 2026-11-23T2130Z.md
writeFileSync(join(results, name), `# SkyDNS bench results\n\n${text}`);
process.stderr.write(`[report] bench/results/${name}\n`);

if (!o['no-readme']) {
  const readme = fileURLToPath(new URL('./README.md', import.meta.url));
  const BEGIN = '<!-- latest-results:begin (bench/report.mjs rewrites this part) -->';
  const END = '<!-- latest-results:end -->';
  const block = `${BEGIN}\n\nFrom [\`results/${name}\`](results/${name}):\n\n${text}\n${END}`;
  let md = existsSync(readme) ? readFileSync(readme, 'utf8') : '# SkyDNS benchmarks\n\n## Latest results\n\n';
  const a = md.indexOf(BEGIN);
  const b = md.indexOf(END);
  md = a >= 0 && b > a ? md.slice(0, a) + block + md.slice(b + END.length) : `${md.trimEnd()}\n\n${block}\n`;
  writeFileSync(readme, md);
  process.stderr.write('[report] bench/README.md updated\n');
}
