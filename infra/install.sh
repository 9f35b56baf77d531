#!/usr/bin/env bash
# Everything `make` needs on a fresh Debian 12 machine: the system tools (as root, from Debian's
# packages), uv at the pinned version in a private virtual environment under $KJ_STATE_DIR (PEP
# 668 keeps pip out of Debian's Python: `pip install uv` is refused there), and the Python
# workspace from uv.lock. Says what it does and how far it is; quiet when nothing is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
STATE=${KJ_STATE_DIR:-$REPO/.local}
UV_VERSION=${UV_VERSION:-0.13.9}
UV_HOME=$STATE/uv
export UV_PYTHON_DOWNLOADS=never

say() { echo "install: $*"; }
need() { command -v "$1" >/dev/null 2>&1; }
# shellcheck source=infra/apt.sh
. infra/apt.sh

missing=()
need java || missing+=(openjdk-17-jre-headless)
need mvn || missing+=(maven)
need python3 || missing+=(python3)
# a virtual environment with pip needs Debian's python3-venv (ensurepip and its pip wheel)
{ need python3 && python3 -c 'import ensurepip, venv' 2>/dev/null; } || missing+=(python3-venv)
# kcat: an independent Kafka client the tests use to check the broker from outside Python
need kcat || missing+=(kcat)
# valgrind's callgrind counts the instructions a ping costs (bench/bench_instructions.py): a
# figure this shared machine's noise does not move (decision 0187)
need valgrind || missing+=(valgrind)
# the console's browser tests drive Debian's Chromium (never a downloaded browser); Chinese text
# on its pages and screenshots needs a CJK font
need chromium || missing+=(chromium)
{ ! need dpkg-query || dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed'; } \
  || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || exit 1
fi

# the officer app's map library (npm, pinned), served by the device gateway, and the Chromium
# its browser test drives (infra/officer-app.sh)
bash infra/officer-app.sh

uv_current() {
  [ -x "$UV_HOME/bin/uv" ] && [ "$("$UV_HOME/bin/uv" --version 2>/dev/null | awk '{print $2}')" = "$UV_VERSION" ]
}
if ! uv_current; then
  say "uv $UV_VERSION into $UV_HOME (a private virtual environment; the system Python is left alone)"
  rm -rf "$UV_HOME"
  python3 -m venv "$UV_HOME"
  "$UV_HOME/bin/python" -m pip install --disable-pip-version-check "uv==$UV_VERSION"
fi

if [ ! -d .venv ]; then
  say "the pinned Python packages (uv.lock) into .venv: about 630 MB installed, downloaded once"
  say "into uv's cache (a few minutes on a fresh machine; uv shows its progress)"
  "$UV_HOME/bin/uv" sync --frozen
else
  "$UV_HOME/bin/uv" sync --frozen -q
fi

# Bytecode, as the images have it (UV_COMPILE_BYTECODE=1): where PYTHONDONTWRITEBYTECODE=1 is
# set (this CI machine), Python never caches it, and every service, test server and planner
# process compiled numpy, pydantic, fastapi... from source again at each start: importing
# dispatch took 6.8 s of CPU instead of 2.7 (decision 0155). The packages once per lock file,
# our own sources every time (a second); a source edited later is compiled in memory as before.
stamp=.venv/.bytecode-compiled
if [ ! -f "$stamp" ] || [ uv.lock -nt "$stamp" ]; then
  say "compiling the Python packages to bytecode (once per uv.lock)"
  .venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages >/dev/null 2>&1 || true
  touch "$stamp"
fi
.venv/bin/python -m compileall -q -j 0 schemas/src runtime/src services/*/src sim/src >/dev/null 2>&1 || true

# the console's map library (npm, pinned by its package-lock.json), served by the console itself
bash infra/console-web.sh
