#!/usr/bin/env bash
# Tools the deploy/ tests need that are not Python packages: promtool (Debian's prometheus,
# which also brings the prometheus server `make demo` runs) and kubectl (kustomize built in).
# hadolint and kubernetes-validate come with `uv sync` (dev dependencies).
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v kubectl >/dev/null 2>&1 || need+=(kubectl)
[ ${#need[@]} -eq 0 ] && exit 0

mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
for pkg in "${need[@]}"; do
    # kubectl is not in Debian's archive: it installs only where the Kubernetes apt source is set
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" \
        || echo "install-tools: could not install $pkg; the tests that need it will say so" >&2
done
