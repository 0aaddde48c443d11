#!/usr/bin/env bash
# Installs what the DNS discovery test (test/cli/dns-discovery.integration.test.ts)
# needs from Debian when it is missing:
#   dnsmasq — a real DNS server the test runs on a free loopback port, answering
#             A/AAAA records from a hosts file it rewrites (and SIGHUPs) as nodes
#             come and go, like a Kubernetes headless Service.
# Idempotent: apt runs only when dnsmasq is absent, and `apt-get update` only
# when the package lists do not know it or the install fails without fresh lists.
# Installing needs root and apt-get. It installs dnsmasq-base (the binary
# alone), not dnsmasq, whose system service would bind port 53.
#
# Exit status: 0 when dnsmasq is there (or was just installed); 3 when it is
# missing and cannot be installed here (no apt-get, not root, or
# TALLYMESH_TEST_INSTALL=0): the test then skips, saying why (under CI=true it
# fails instead). Any other status is a failed install.
#
#   scripts/dns-prereqs.sh            install what is missing
#   scripts/dns-prereqs.sh --dry-run  say what would be done, change nothing
set -euo pipefail

# shellcheck source=lib/apt-install.sh
. "$(dirname "$0")/lib/apt-install.sh"
prereqs_init dns-prereqs "$@"
find_dnsmasq() { command -v dnsmasq 2>/dev/null || { [ -x /usr/sbin/dnsmasq ] && echo /usr/sbin/dnsmasq; } || true; }

if [ -n "$(find_dnsmasq)" ]; then
  say "ok: dnsmasq already installed ($(find_dnsmasq))"
  exit 0
fi

# dnsmasq-base is the binary alone: no system service that would bind port 53.
status=0
apt_install TALLYMESH_TEST_INSTALL dnsmasq-base || status=$?
[ "$status" = 0 ] || exit "$status"

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing changed"
  exit 0
fi
[ -n "$(find_dnsmasq)" ] || { say "dnsmasq still not found after the install"; exit 1; }
say "ok: installed dnsmasq ($(find_dnsmasq))"
