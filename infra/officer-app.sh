#!/usr/bin/env bash
# The officer app (issue 18): its map library from npm at the version package-lock.json pins
# (`npm ci` in services/devices/web/vendor.sh), copied into the device gateway's static folder,
# which serves the app itself (no CDN); and Debian's Chromium with a CJK font, which its browser
# test drives (never a browser download). Node.js and npm come from Debian's packages when
# missing. Quiet when all is current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WEB=services/devices/web
VENDOR=services/devices/src/kj_devices/static/vendor
STAMP=$VENDOR/.package-lock.sha256
# shellcheck source=infra/apt.sh
. infra/apt.sh

say() { echo "officer-app: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
missing=()
have node || missing+=(nodejs)
have npm || missing+=(npm)
have chromium || missing+=(chromium)
{ ! have dpkg-query || installed fonts-noto-cjk; } || missing+=(fonts-noto-cjk)
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
