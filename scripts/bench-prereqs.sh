#!/usr/bin/env bash
# Installs what the benchmarks' competitors need from Debian when it is missing:
#   redis-server — the daemon scenario's Redis row (a sorted-set sliding window
#                  through ioredis, against a redis-server the benchmark starts
#                  on a free loopback port).
# Idempotent: apt runs only when something is absent, and `apt-get update` only
# when the package lists do not know the package or the install fails without
# fresh lists. Installing needs root and apt-get.
#
# Exit status: 0 when everything is there (or was just installed); 3 when
# something is missing and cannot be installed here (no apt-get, not root, or
# TALLYMESH_BENCH_INSTALL=0): the benchmark then skips the rows that need it,
# saying why. Any other status is a failed install.
#
#   scripts/bench-prereqs.sh            install what is missing
#   scripts/bench-prereqs.sh --dry-run  say what would be done, change nothing
set -euo pipefail

# shellcheck source=lib/apt-install.sh
. "$(dirname "$0")/lib/apt-install.sh"
prereqs_init bench-prereqs "$@"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -eq 0 ]; then
  say "ok: redis-server already installed ($(command -v redis-server))"
  exit 0
fi

status=0
apt_install TALLYMESH_BENCH_INSTALL "${missing[@]}" || status=$?
[ "$status" = 0 ] || exit "$status"

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing changed"
  exit 0
fi
command -v redis-server >/dev/null 2>&1 || { say "redis-server still not on PATH after the install"; exit 1; }
say "ok: installed redis-server ($(command -v redis-server))"
