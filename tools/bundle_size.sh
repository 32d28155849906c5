#!/usr/bin/env bash
# `make bundle-size`: the shipped bundle's size (gzipped, as Cloudflare counts
# it), then its code and data by crate. The breakdown is of the same wasm
# run through wasm-bindgen and `wasm-opt -Oz` with names kept (-g), which
# the shipped bundle strips; custom sections are left out of the sums.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=edge-worker/build/index_bg.wasm
printf 'bundle: wasm %s bytes, gzipped %s bytes; index.js gzipped %s bytes\n' \
  "$(wc -c < $wasm)" "$(gzip -9 -c $wasm | wc -c)" "$(gzip -9 -c edge-worker/build/index.js | wc -c)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$WASM_BINDGEN" --out-dir "$tmp" --target bundler target/wasm32-unknown-unknown/release/invalidator_edge.wasm
# shellcheck disable=SC2086 # one flag per feature
node_modules/.bin/wasm-opt "$tmp/invalidator_edge_bg.wasm" -Oz -g $WASM_FEATURES -o "$tmp/named.wasm"
"$TWIGGY" top -f csv "$tmp/named.wasm" > "$tmp/top.csv"
python3 tools/bundle_size.py "$tmp/top.csv" 20
