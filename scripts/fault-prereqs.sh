#!/usr/bin/env bash
# Installs what the fault suite needs from Debian when it is missing:
#   faketime  — libfaketime, to run a daemon with a skewed wall clock;
#   iptables  — where the kernel has no sch_netem: the NFQUEUE rule that hands
#               a namespace's outgoing packets to test/faults/nfq-delay.py.
# iproute2 (ip, tc) and python3 must already be there. Idempotent: apt runs only
# when something is absent. Needs root (the fault suite needs it anyway).
set -euo pipefail

missing=()
libfaketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)
[ -n "$libfaketime" ] || missing+=(faketime)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "fault-prereqs: missing ${missing[*]} and not root: run as root or: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "fault-prereqs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

for tool in ip tc python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fault-prereqs: $tool not found (install iproute2 / python3)" >&2; exit 1; }
done
echo "fault-prereqs: ok"
