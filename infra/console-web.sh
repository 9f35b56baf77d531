#!/usr/bin/env bash
# The console's map library from npm, at the version package-lock.json pins (`npm ci` in
# services/console/web/vendor.sh, which the image build runs too), copied into the console's
# static folder: the console serves it itself, no CDN (issue 17). Node.js and
# npm come from Debian's packages when missing. Quiet when the copy is current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WEB=services/console/web
VENDOR=services/console/src/kj_console/static/vendor
STAMP=$VENDOR/.package-lock.sha256
# shellcheck source=infra/apt.sh
. infra/apt.sh

say() { echo "console-web: $*"; }
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || exit 1
fi

want=$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$VENDOR/leaflet/leaflet-src.esm.js" ]; then
  exit 0
fi
say "the map library (Leaflet, pinned by $WEB/package-lock.json) from the npm registry"
sh "$WEB/vendor.sh" "$PWD/$VENDOR"
echo "$want" >"$STAMP"
say "copied into $VENDOR/leaflet"
