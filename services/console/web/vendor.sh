#!/bin/sh
# The console's map library at the version package-lock.json pins (`npm ci`), copied into the
# folder given (the console serves it from kj_console/static/vendor): Leaflet's ESM build, its
# stylesheet and images, and its licence. Run by infra/console-web.sh (`make install`) and by the
# image build (deploy/docker/console.Dockerfile).
set -eu
target=$1
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
rm -rf "$target/leaflet"
mkdir -p "$target/leaflet"
cp -r node_modules/leaflet/dist/leaflet-src.esm.js node_modules/leaflet/dist/leaflet.css \
  node_modules/leaflet/dist/images node_modules/leaflet/LICENSE "$target/leaflet/"
