#!/usr/bin/env bash
# Builds the native UDP socket with AddressSanitizer (native/build-asan/) and
# runs the UDP fuzz tests and the native socket's own tests on it, with
# libasan preloaded into node (and so into every child node it starts).
# detect_leaks=0: node itself does not free everything at exit. Exits non-zero
# on a test failure or on any AddressSanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."

node scripts/build-native.mjs --asan --strict
libasan="$(${CC:-cc} -print-file-name=libasan.so)"
if [ ! -e "$libasan" ] || [ "$libasan" = "libasan.so" ]; then
  echo "asan-fuzz: no libasan.so from ${CC:-cc} -print-file-name (install gcc's libasan)" >&2
  exit 1
fi
log="$(mktemp -t skydns-asan.XXXXXX)"
trap 'rm -f "$log"' EXIT
status=0
# The fuzz tests through a whole server over UDP, the native socket's tests (server and client sockets), the forward plugin (its upstream sockets), the protocol, abuse and overload tests.
SKYDNS_UDP=native SKYDNS_UDP_ADDON="$PWD/native/build-asan/skydns_udp.node" \
  LD_PRELOAD="$libasan" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1" \
  node scripts/run-tests.mjs test/fuzz/server src/server/udp/ plugins/forward/ test/forward test/protocol test/abuse test/overload test/udp-path 2>&1 | tee "$log" || status=$?
if grep -q "ERROR: AddressSanitizer" "$log"; then
  echo "asan-fuzz: AddressSanitizer reported an error (above)" >&2
  exit 1
fi
[ "$status" -eq 0 ] || { echo "asan-fuzz: tests failed under ASan" >&2; exit "$status"; }
echo "asan-fuzz: clean (no AddressSanitizer report, tests passed)"
