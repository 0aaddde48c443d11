# Sourced by scripts/*-prereqs.sh: installs missing Debian packages, or says
# why it cannot. The caller defines say() (its own prefix on stderr).
#
#   apt_read_args "$@"      sets dry_run from the script's arguments: none, or
#                           --dry-run (then every command is printed, not run)
#
#   apt_install_missing OPT_OUT_VARIABLE PACKAGE...
#
# Exits 3 when the packages cannot be installed here: OPT_OUT_VARIABLE=0, no
# apt-get, or not root. `apt-get update` runs only when the package lists do
# not know a package, or an install fails without fresh lists (stale lists
# point at files the mirror no longer has). Any other failure is the caller's
# `set -e` failure.

apt_read_args() {
  dry_run=0
  case "${1:-}" in
    '') ;;
    --dry-run) dry_run=1 ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
  esac
}

apt_run() {
  if [ "${dry_run:-0}" = 1 ]; then say "would run: $*"; else "$@"; fi
}

apt_install_missing() {
  local opt_out=$1
  shift
  if [ "${!opt_out:-1}" = 0 ]; then
    say "missing $*; $opt_out=0, so not installing"
    exit 3
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing $* and no apt-get here: install it with your package manager"
    exit 3
  fi
  if [ "$(id -u)" != 0 ]; then
    say "missing $* and not root: run as root or: sudo apt-get install -y $*"
    exit 3
  fi
  say "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine (or container) has empty package lists: update first.
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    apt_run apt-get update -qq >&2
    apt_run apt-get install -y -qq --no-install-recommends "$@" >&2
  elif ! apt_run apt-get install -y -qq --no-install-recommends "$@" >&2; then
    apt_run apt-get update -qq >&2
    apt_run apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}
