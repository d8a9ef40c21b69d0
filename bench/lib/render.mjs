/** Markdown for the suite's and the scale rows' JSON results (used by the scripts and by report.mjs). */
import { fmt, fmtInt, median, table } from './stats.mjs';

export function renderSuite(result) {
  const { N, M, RUNS, DURATION, FIXED, QPS, CPU_QPS, CLIENTS, OUTSTANDING } = result.params;
  const k = `${QPS / 1000}k`;
  const ek = CPU_QPS ? `${CPU_QPS / 1000}k` : null;
  const rowsMd = Object.values(result.rows).map((r) => {
    const ans = r.answers?.srv ? `${r.answers.srv.size} / ${r.answers.a?.size}` : '';
    if (!r.median) return [r.label, r.notRun ?? 'not run', '', '', '', '', '', '', '', '', '', ans];
    const x = r.median;
    const fixedCpu = median(r.runs.map((y) => y.fixed.cpuUsPerQuery));
    const equalCpu = median(r.runs.map((y) => y.equal?.cpuUsPerQuery));
    return [
      r.label,
      fmtInt(x.qps),
      fmtInt(x.lost),
      fmt(x.cpuUs, 1),
      fmt(equalCpu, 1),
      fmt(fixedCpu, 1),
      `${fmt(x.avgMs, 2)} / ${fmt(x.maxMs, 1)}`,
      `${fmt(x.fixedAvgMs, 2)} / ${fmt(x.fixedP99Ms, 2)} / ${fmt(x.fixedMaxMs, 1)}`,
      fmtInt(x.fixedLost),
      fmt(x.rssMiB, 0),
      r.runs.map((y) => y.sat.load.split(' ')[0]).join(', '),
      ans,
    ];
  });
  const paths = result.params.PATHS ?? ['dgram'];
  const ratioMd = [];
  for (const path of paths) {
    const R = result.ratios?.[path] ?? {};
    const t = (target) => (path === 'native' ? target : '');
    ratioMd.push(
      [`SkyDNS authoritative (${path}) / bind9, QPS`, fmt(R.authQpsVsBind9, 2), t('≥ 1.3')],
      [`SkyDNS authoritative (${path}) / bind9, CPU µs per query (each at saturation)`, fmt(R.authCpuVsBind9, 2), t('≤ 0.8')],
      [`SkyDNS authoritative (${path}) / bind9, CPU µs per query (both at ${ek ?? 'n/a'} QPS)`, fmt(R.authCpuVsBind9Equal, 2), ''],
      [`SkyDNS with cache (${path}) / unbound, QPS`, fmt(R.cacheQpsVsUnbound, 2), t('≥ 1.0')],
      [`SkyDNS with cache (${path}) / unbound, CPU µs per query (each at saturation)`, fmt(R.cacheCpuVsUnbound, 2), ''],
      [`SkyDNS with cache (${path}) / unbound, CPU µs per query (both at ${ek ?? 'n/a'} QPS)`, fmt(R.cacheCpuVsUnboundEqual, 2), ''],
      [`SkyDNS forward + cache (${path}) / unbound, QPS`, fmt(R.fwdCacheQpsVsUnbound, 2), t('≥ 1.0')],
      [`SkyDNS forward + cache (${path}) / unbound, CPU µs per query (each at saturation)`, fmt(R.fwdCacheCpuVsUnbound, 2), ''],
      [`SkyDNS forward, no cache (${path}) / dnsmasq \`--cache-size=0\`, QPS`, fmt(R.fwdQpsVsDnsmasq, 2), t('≥ 0.8')],
      [`SkyDNS forward, no cache (${path}) / dnsmasq, CPU µs per query (each at saturation; neither counts bind9)`, fmt(R.fwdCpuVsDnsmasq, 2), ''],
    );
  }
  // Rows forwarding every query to bind9: what the upstream did per client query.
  const upstreamMd = Object.values(result.rows)
    .filter((r) => r.median && Number.isFinite(r.median.upstreamCpuUs))
    .map((r) => [r.label, fmt(r.median.upstreamQueries, 2), fmt(r.median.upstreamCpuUs, 1), fmt(r.median.cpuUs + r.median.upstreamCpuUs, 1)]);
  const nvd = Object.values(result.nativeVsDgram ?? {}).map((x) => [x.label, fmt(x.qps, 2), fmt(x.cpu, 2), fmt(x.cpuEqual, 2)]);
  const sc = result.syscalls ?? {};
  const perQ = (run, name) => (run?.counts && run.completed ? run.counts[name] / run.completed : NaN);
  // Only the calls some row made (a column of zeros says nothing).
  const measured = Object.values(result.rows).filter((r) => r.syscalls);
  const scNames = Object.keys(sc.events ?? {}).filter((n) => n !== 'total' && measured.some((r) => perQ(r.syscalls.sat, n) >= 0.005 || perQ(r.syscalls.fixed, n) >= 0.005));
  const syscallRows = Object.values(result.rows)
    .filter((r) => r.syscalls)
    .map((r) => [r.label, fmtInt(r.syscalls.sat.qps), fmt(r.syscalls.sat.perQuery, 2), fmt(r.syscalls.fixed.perQuery, 2), ...scNames.map((n) => `${fmt(perQ(r.syscalls.sat, n), 2)} / ${fmt(perQ(r.syscalls.fixed, n), 2)}`)]);
  const syscallMd = sc.events
    ? `System calls per query answered, counted by ${sc.method === 'strace' ? "\`strace -c -f -p\` attached around one dnsperf run each (strace stops the server at every call, so it runs slower and batches more at saturation than unmeasured: perf was not available)" : "\`perf stat -e raw_syscalls:sys_enter,…\` on the server's processes (every thread) for exactly one dnsperf run each"}, in runs of their own after the rounds: at saturation (\`-l ${FIXED}\`, closed loop) and at ${k} QPS. Per call: saturation / ${k}.

${table(['row', 'QPS (saturation, under perf)', 'syscalls/query, saturation', `syscalls/query @${k}`, ...scNames], syscallRows)}
`
    : `System calls per query: ${sc.reason ?? 'not measured'}.
`;

  const perRun = [];
  for (const r of Object.values(result.rows))
    for (const x of r.runs)
      perRun.push([r.id, x.run, fmtInt(x.sat.qps), fmtInt(x.sat.lost), fmt(x.sat.cpuUsPerQuery, 1), fmt(x.sat.avgMs, 2), fmt(x.sat.maxMs, 1), fmt(x.equal?.cpuUsPerQuery, 1), fmt(x.fixed.cpuUsPerQuery, 1), fmt(x.fixed.p50Ms, 2), fmt(x.fixed.p99Ms, 2), fmt(x.fixed.maxMs, 1), fmtInt(x.fixed.lost), fmt(x.sat.rssMiB, 0), x.sat.load]);

  return `### Side by side (${N} services × ${M} instances, ${RUNS} runs, median)

Saturation: \`dnsperf -e -c ${CLIENTS} -q ${OUTSTANDING} -l ${DURATION}\` (closed loop, ${OUTSTANDING} outstanding).
${result.params.pinned ? `CPUs: every single-process server pinned to CPU ${result.params.pinned.server} (all its threads, \`taskset -a\`), dnsperf to CPU ${result.params.pinned.dnsperf}; the rows with workers and their dnsperf run on every CPU.` : 'CPUs: not pinned (the kernel places server and dnsperf).'}
Fixed rate: the same with \`-Q ${QPS} -l ${FIXED} -v\` (latency percentiles from every answer; a server that saturates below ${k} QPS is queueing there).
CPU is the server process's utime+stime (all threads) over the run from \`/proc/PID/stat\`, divided by the queries answered,
at saturation, at ${ek ?? 'a lower fixed rate'} QPS (a rate every server sustains) and at ${k} QPS (the per-query cost of the socket path grows when the server and dnsperf sleep between datagrams, see the floor row, so compare servers at the same rate too).
Load average (1 min) at the start of each saturation run is listed: anything well above 0 means other work shared the cores.

${table(['row', 'QPS', 'lost', 'CPU µs/query', `CPU µs/query @${ek ?? 'n/a'}`, `CPU µs/query @${k}`, 'latency avg / max ms', `@${k} QPS avg / p99 / max ms`, `lost @${k}`, 'RSS MiB', 'load (1 min) per run', 'answer bytes SRV / A'], rowsMd)}

Ratios, median of the per-run ratios (each pair measured back to back); targets of issue 13, on the native path:

${table(['ratio', 'measured', 'target'], ratioMd)}

${upstreamMd.length ? `Forwarding without cache: the upstream's share at saturation (medians). Upstream queries per client query come from the UDP datagrams the machine received (\`/proc/net/snmp\`): each forwarded query adds two to the client's query and reply (below 1: identical questions in flight shared one upstream query); bind9's CPU is its utime+stime over the run per client query answered. Server and bind9 share one CPU, so their sum bounds the QPS.

${table(['row', 'upstream queries per client query', 'bind9 CPU µs per client query', 'server + bind9 µs'], upstreamMd)}

` : ''}Native against dgram, the same row on both UDP paths (median of per-run ratios; n/a when a path did not run):

${table(['row', 'QPS native / dgram', 'CPU µs/query native / dgram (saturation)', `CPU µs/query native / dgram (@${ek ?? 'n/a'})`], nvd)}

${syscallMd}
<details><summary>Every run</summary>

${table(['row', 'run', 'QPS', 'lost', 'CPU µs/q', 'avg ms', 'max ms', `CPU µs/q @${ek ?? 'n/a'}`, `CPU µs/q @${k}`, `@${k} p50 ms`, 'p99 ms', 'max ms', 'lost', 'RSS MiB', 'loadavg'], perRun)}

</details>
`;
}

export function renderScale(r) {
  const { N, M, QPS, CONC } = r.params;
  const lat = (x) => `avg ${fmt(x.avgMs, 2)} / p50 ${fmt(x.p50Ms, 2)} / p99 ${fmt(x.p99Ms, 2)} / max ${fmt(x.maxMs, 1)} ms, lost ${fmtInt(x.lost)}, ${fmt(x.cpuUsPerQuery, 1)} µs CPU/query`;
  const rows = [
    ['PUT (register), per second', `${fmtInt(r.put.perSecond)} (${fmtInt(r.put.count)} in ${fmt(r.put.seconds, 1)} s)`, r.load.put],
    ['PATCH (heartbeat), per second', `${fmtInt(r.patch.perSecond)} (${fmtInt(r.patch.count)} in ${fmt(r.patch.seconds, 1)} s)`, r.load.patch],
    ['RSS empty / registered / after queries', `${fmt(r.rssEmpty.rssMiB, 0)} / ${fmt(r.rssRegistered.rssMiB, 0)} / ${fmt(r.rssQueried.rssMiB, 0)} MiB (peak ${fmt(r.rssQueried.peakMiB, 0)})`, ''],
    [`answers at saturation (${fmtInt(N * 5)} query lines over ${fmtInt(N)} names, 80 % SRV)`, `${fmtInt(r.sat.qps)} QPS, lost ${fmtInt(r.sat.lost)}, ${fmt(r.sat.cpuUsPerQuery, 1)} µs CPU/query, avg ${fmt(r.sat.avgMs, 2)} ms, max ${fmt(r.sat.maxMs, 1)} ms`, r.sat.load],
    [`answer latency at ${fmtInt(QPS)} QPS`, lat(r.fixed), r.fixed.load],
  ];
  if (r.low) rows.push([`answer latency at ${fmtInt(r.params.LOW)} QPS (no queueing)`, lat(r.low), r.low.load]);
  rows.push(
    ['data dir on disk', `${fmt(r.diskMiB, 0)} MiB`, ''],
    ['graceful stop (SIGTERM to exit)', `${fmt(r.stopSeconds, 2)} s`, ''],
    ['restart: spawn to "serving"', `${fmt(r.restartServingSeconds, 2)} s`, r.load.restart],
    ['restart: spawn to the last service answering SRV', `${fmt(r.restartAnswerSeconds, 2)} s`, ''],
    ['RSS after restart', `${fmt(r.rssRestarted.rssMiB, 0)} MiB (peak ${fmt(r.rssRestarted.peakMiB, 0)})`, ''],
  );
  return `### Scale: ${fmtInt(N * M)} registered instances (${fmtInt(N)} services × ${M})

Chain \`api, skydns${r.params.wireCache !== undefined ? ` (wireCache ${r.params.wireCache})` : ''}, synth\`. Embedded registry, every write fsynced before its answer; ${CONC} requests in flight over keep-alive HTTP/1.1 connections from autocannon on the same machine.

${table(['measure', 'value', 'load average then'], rows)}
`;
}
