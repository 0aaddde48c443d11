#!/usr/bin/env bash
# Installs what the dashboard's browser test (test/cli/dashboard.browser.integration.test.ts)
# needs from Debian when it is missing:
#   chromium — Debian's headless-capable Chromium, driven by playwright-core
#              (which downloads no browser of its own: it is given this one's path).
# Idempotent: apt runs only when chromium is absent, and `apt-get update` only
# when the package lists do not know the package or the install fails without
# fresh lists. Installing needs root and apt-get.
#
# Prints the browser's path on stdout when it is there.
#
# Exit status: 0 when chromium is there (or was just installed); 3 when it is
# missing and cannot be installed here (no apt-get, not root, or
# TALLYMESH_BROWSER_INSTALL=0): the test then skips, saying why, except under
# CI=true where it fails. Any other status is a failed install.
#
#   scripts/browser-prereqs.sh            install what is missing
#   scripts/browser-prereqs.sh --dry-run  say what would be done, change nothing
set -euo pipefail

# shellcheck source=lib/apt-install.sh
. "$(dirname "$0")/lib/apt-install.sh"
prereqs_init browser-prereqs "$@"
# Debian names the binary chromium; other distributions chromium-browser.
find_browser() { command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true; }

browser=$(find_browser)
if [ -n "$browser" ]; then
  say "ok: chromium already installed ($browser)"
  echo "$browser"
  exit 0
fi

status=0
apt_install TALLYMESH_BROWSER_INSTALL chromium || status=$?
[ "$status" = 0 ] || exit "$status"

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing changed"
  exit 0
fi
browser=$(find_browser)
[ -n "$browser" ] || { say "chromium still not on PATH after the install"; exit 1; }
say "ok: installed chromium ($browser)"
echo "$browser"
