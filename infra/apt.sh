# Sourced by the install scripts: install Debian packages visibly, one `apt-get update` per run.
# apt_install PKG... — as root (or through sudo); says what it installs and shows apt's progress.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      printf 'install: missing Debian packages: %s (install them as root)\n' "$*" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    printf 'install: missing %s and no apt-get here: install them by hand\n' "$*" >&2
    return 1
  fi
  if [ -z "${KJ_APT_UPDATED:-}" ]; then
    echo "install: apt-get update (Debian's package lists)"
    $sudo apt-get update
    export KJ_APT_UPDATED=1
  fi
  echo "install: Debian packages $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
