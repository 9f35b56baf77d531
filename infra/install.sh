#!/usr/bin/env bash
# Everything `make` needs on a fresh machine: checks the system tools, installs uv if missing,
# and the Python workspace from the lock file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never

need() { command -v "$1" >/dev/null 2>&1; }

missing=()
need java || missing+=("a JDK 17+ (Debian: openjdk-17-jre-headless)")
need mvn || missing+=("Maven (Debian: maven)")
need python3 || missing+=("Python 3.11+ (Debian: python3)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "install: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven python3 python3-pip >/dev/null
  else
    printf 'install: missing %s\n' "${missing[@]}" >&2
    exit 1
  fi
fi

# kcat: an independent Kafka client the tests use to check the broker from outside Python
if ! need kcat && [ "$(id -u)" = 0 ] && need apt-get; then
  echo "install: installing kcat (Debian)"
  (apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq kcat >/dev/null; }) \
    || echo "install: kcat could not be installed; the kcat check will fail" >&2
fi

if ! need uv && ! python3 -m uv --version >/dev/null 2>&1; then
  echo "install: installing uv from PyPI"
  python3 -m pip install -q "uv==${UV_VERSION:-0.13.9}" 2>/dev/null \
    || python3 -m pip install -q --user "uv==${UV_VERSION:-0.13.9}"
fi
UV=$(command -v uv || echo "python3 -m uv")
$UV sync --frozen -q
