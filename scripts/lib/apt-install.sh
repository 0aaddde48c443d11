# Sourced by the *-prereqs.sh scripts: their command line and installing
# Debian packages that are missing, the same way for each.
#
#   prereqs_init <name> "$@"
#
# Reads the script's arguments (none, or --dry-run: say what would run,
# change nothing; anything else exits 2) into `dry_run`, and defines `say`,
# which prefixes messages with <name>.
#
#   apt_install <opt-out variable> <package>...
#
# Returns 0 once the packages are installed (or would be, in a dry run); 3
# when they cannot be installed here: the opt-out variable is 0, there is no
# apt-get, or this is not root. Any other status is a failed install.
# `apt-get update` runs only when the package lists do not know a package, or
# when the install fails without fresh lists.

prereqs_init() {
  prereqs_name=$1
  shift
  dry_run=0
  case "${1:-}" in
    '') ;;
    --dry-run) dry_run=1 ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
  esac
}

say() { echo "$prereqs_name: $*" >&2; }

apt_run() {
  if [ "$dry_run" = 1 ]; then say "would run: $*"; else "$@"; fi
}

apt_install() {
  local opt_out=$1
  shift
  if [ "${!opt_out:-1}" = 0 ]; then
    say "missing $*; $opt_out=0, so not installing"
    return 3
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing $* and no apt-get here: install it with your package manager"
    return 3
  fi
  if [ "$(id -u)" != 0 ]; then
    say "missing $* and not root: run as root or: sudo apt-get install -y $*"
    return 3
  fi
  say "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  local install=(apt-get install -y -qq --no-install-recommends "$@")
  # A fresh machine (or container) has empty package lists: update first.
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    apt_run apt-get update -qq >&2
    apt_run "${install[@]}" >&2
  elif ! apt_run "${install[@]}" >&2; then
    # Stale lists point at files the mirror no longer has (or another apt held the lock): update and retry once.
    apt_run apt-get update -qq >&2
    apt_run "${install[@]}" >&2
  fi
}
