#!/bin/sh
# Runs the whole bench on loopback, in bounded runs, and writes the Markdown results:
# bench/results/<date>.md, and the same into bench/README.md ("Latest results").
#
#   bench/setup.sh            # once: dnsperf, bind9, unbound, dnsmasq-base, dnsutils, linux-perf, strace from Debian
#   npm run build             # dist/ must be current
#   bench/run.sh
#
# Knobs (environment): SERVICES=50 INSTANCES=20 RUNS=3 DURATION=10 FIXED_DURATION=5 QPS=10000 CPU_QPS=5000
#   SCALE_SERVICES=5000 (× INSTANCES = 100k)  EQUAL_INSTANCES=12 (second suite with equal answers; 0: skip)  SKIP_SCALE=1  SKIP_PROFILE=1  SKIP_REGISTRY=1
#   ROWS=bind9,auth,fwd,dnsmasq (suite rows; default all; `auth` is both UDP paths, `auth:dgram` one)
#   SKIP_CLUSTER=1  NO_README=1 (results file only)  NOTE="text" (a line for the results, e.g. the machine was busy)  PORT_BASE=15300 (uses PORT_BASE..+79)
# Every server runs on 127.0.0.1 as a child of the scripts and is stopped by its PID;
# each step is bounded by `timeout`. Generated data goes to bench/results/tmp/ (gitignored).
# Not part of `npm test`.
set -eu
cd "$(dirname "$0")/.."

SERVICES=${SERVICES:-50}
INSTANCES=${INSTANCES:-20}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
FIXED_DURATION=${FIXED_DURATION:-5}
QPS=${QPS:-10000}
CPU_QPS=${CPU_QPS:-5000}
SCALE_SERVICES=${SCALE_SERVICES:-5000}
EQUAL_INSTANCES=${EQUAL_INSTANCES:-12}
PORT_BASE=${PORT_BASE:-15300}
ROWS_ARG=
[ -z "${ROWS:-}" ] || ROWS_ARG="--rows $ROWS"

for t in dnsperf named unbound; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || { echo "run.sh: $t not found; run bench/setup.sh" >&2; exit 1; }
done
# Optional: without dnsmasq its row says "not run"; without perf the syscall table says why.
for t in dnsmasq perf; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || echo "run.sh: $t not found (bench/setup.sh installs it); its part of the suite will say not run" >&2
done
export PATH="$PATH:/usr/sbin"
[ -f dist/src/cli.js ] || { echo "run.sh: dist/ missing; run npm run build" >&2; exit 1; }

STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
OUT="$PWD/bench/results/tmp/$STAMP"
mkdir -p "$OUT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run.sh: results in $OUT (load average $LOAD_START)"

timeout 3600 node bench/suite.mjs --out "$OUT" --services "$SERVICES" --instances "$INSTANCES" --runs "$RUNS" \
  --duration "$DURATION" --fixed-duration "$FIXED_DURATION" --qps "$QPS" --cpu-qps "$CPU_QPS" --port-base "$PORT_BASE" $ROWS_ARG >/dev/null

# bind9 9.18.28+ leaves the additional section empty for RRsets over 13 records: the same
# rows again with EQUAL_INSTANCES per service, so every server answers the same records (0: skip).
if [ "$EQUAL_INSTANCES" -gt 0 ] && [ "$EQUAL_INSTANCES" -ne "$INSTANCES" ]; then
  mkdir -p "$OUT/equal"
  timeout 3600 node bench/suite.mjs --out "$OUT/equal" --services "$SERVICES" --instances "$EQUAL_INSTANCES" --runs "$RUNS" \
    --duration "$DURATION" --fixed-duration "$FIXED_DURATION" --qps "$QPS" --cpu-qps "$CPU_QPS" --port-base "$PORT_BASE" $ROWS_ARG >/dev/null
fi

[ -n "${SKIP_PROFILE:-}" ] || timeout 600 node bench/profile.mjs --out "$OUT" --services "$SERVICES" --instances "$INSTANCES" \
  --duration "$DURATION" --port-base $((PORT_BASE + 20)) >/dev/null

[ -n "${SKIP_SCALE:-}" ] || timeout 3600 node bench/scale.mjs --out "$OUT" --services "$SCALE_SERVICES" --instances "$INSTANCES" \
  --duration "$DURATION" --qps "$QPS" --port-base $((PORT_BASE + 30)) >/dev/null

if [ -z "${SKIP_REGISTRY:-}" ]; then
  echo "run.sh: bench/registry.mjs (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  { echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"; echo; timeout 900 node bench/registry.mjs; } >"$OUT/registry.md"
fi

if [ -z "${SKIP_CLUSTER:-}" ]; then
  echo "run.sh: bench/experiments/cluster-udp.mjs" >&2
  {
    echo 'Two workers of `node:cluster` binding 127.0.0.1 on the same UDP port, each answering with a pre-encoded reply; dnsperf `-c 4 -q 50`, 5 s per line.'
    echo
    echo '```'
    for q in 0 "$QPS"; do
      for mode in single shared reuseport; do
        timeout 60 node bench/experiments/cluster-udp.mjs --mode "$mode" --seconds 5 --qps "$q" --port $((PORT_BASE + 50)) 2>&1 | sed "s/^/$( [ "$q" = 0 ] && echo 'saturation' || echo "$q QPS"): /"
      done
    done
    echo '```'
  } >"$OUT/cluster.md"
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
LOAD_START="$LOAD_START" LOAD_END="$LOAD_END" COMMIT="$COMMIT" node -e 'process.stdout.write(JSON.stringify({ loadStart: process.env.LOAD_START, loadEnd: process.env.LOAD_END, commit: process.env.COMMIT, note: process.env.NOTE || "" }))' >"$OUT/meta.json"
if [ -n "${NO_README:-}" ]; then node bench/report.mjs --out "$OUT" --no-readme; else node bench/report.mjs --out "$OUT"; fi
