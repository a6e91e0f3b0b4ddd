#!/usr/bin/env bash
# Combines the map's modules into web/dist/ (esbuild from web/node_modules, a development
# dependency): the start-up modules in a few files, each part loaded on demand (the bureau's
# editor, the review queue, the administrator's pages) in a file of its own, minified, with
# source maps. The service serves web/dist/ in place of web/js/ when it is there and newer
# (src/http/shell.rs); nothing of this runs on the server.
#
#   scripts/build-web.sh [--force]     does nothing when web/dist is newer than every source
set -euo pipefail
cd "$(dirname "$0")/../web"

esbuild=node_modules/.bin/esbuild
if [ ! -x "$esbuild" ]; then
  echo "build-web: $esbuild is missing: run scripts/deps.sh (npm ci in web/) first" >&2
  exit 1
fi
if [ "${1:-}" != --force ] && [ -f dist/meta.json ] &&
  [ -z "$(find js package-lock.json -newer dist/meta.json -print -quit)" ]; then
  exit 0
fi
rm -rf dist.new
"$esbuild" js/app.js --bundle --splitting --format=esm --target=es2020 --minify --sourcemap \
  --outdir=dist.new --entry-names='[name]' --chunk-names='chunk-[hash]' \
  --metafile=dist.new/meta.json --log-level=warning --log-override:duplicate-object-key=error
# esbuild writes the outputs' paths as it was told; the service reads them under dist/.
sed -i 's#"dist\.new/#"dist/#g' dist.new/meta.json
rm -rf dist
mv dist.new dist
echo "build-web: web/dist/ from web/js/ ($(find dist -name '*.js' | wc -l) files)"
