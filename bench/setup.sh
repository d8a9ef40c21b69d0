#!/bin/sh
# Installs the bench's tools from Debian: dnsperf, bind9 (named), unbound, dnsmasq-base
# (the dnsmasq binary without the system service of the `dnsmasq` package), dnsutils (dig),
# linux-perf and strace (syscalls per query), and from npm the HTTP load tool autocannon
# (bench/package.json, bench/node_modules only).
# Run as root or with sudo. The bench starts its own named, unbound and dnsmasq on 127.0.0.1
# with configs and flags in a temp dir; it never uses the system services these packages bring.
# Note: on a machine with systemd the packages enable and start system named/unbound on
# port 53 (containers with a policy-rc.d that denies starts do not). The bench does not
# need them: `systemctl disable --now named unbound` if you do not want them.
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS="dnsperf bind9 unbound dnsmasq-base dnsutils linux-perf strace"

$SUDO apt-get update
available=
for p in $PKGS; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    echo "setup.sh: $p is not available from this machine's apt sources; rows that need it will fail" >&2
  else
    echo "setup.sh: $p $cand"
    available="$available $p"
  fi
done
[ -n "$available" ] || { echo "setup.sh: nothing to install" >&2; exit 1; }
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $available

for t in dnsperf named unbound dnsmasq dig perf strace; do
  if command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ]; then echo "setup.sh: $t ok"; else echo "setup.sh: $t missing" >&2; fi
done

# autocannon drives registrations (PUT/PATCH per second); it is the bench's, not SkyDNS's.
here=$(dirname "$0")
if npm --prefix "$here" ci --no-audit --no-fund >/dev/null; then echo "setup.sh: autocannon ok"; else echo "setup.sh: npm could not install autocannon (bench/package.json)" >&2; fi
