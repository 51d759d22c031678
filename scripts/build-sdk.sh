#!/usr/bin/env bash
# Builds the browser SDK (size-optimised wasm + wasm-bindgen ES-module glue) into wasm-sdk/js/pkg and
# prints what a page downloads, gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Without the default `std` feature: no Rust std in the wasm (see wasm-sdk/Cargo.toml).
cargo build -p wasm-sdk --target wasm32-unknown-unknown --profile sdk --no-default-features
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir wasm-sdk/js/pkg --out-name wasm_sdk \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/sdk/wasm_sdk.wasm"
# wasm-opt (npm `binaryen`, a devDependency) shrinks the wasm a further ~8% beyond LLVM; it takes the
# wasm features from the module's target_features section, then drops that section.
wasm-opt -Oz --strip-debug --strip-producers --strip-target-features \
  wasm-sdk/js/pkg/wasm_sdk_bg.wasm -o wasm-sdk/js/pkg/wasm_sdk_bg.wasm
# The generated glue is verbose (comments, long local names): minified, it is half its gzipped size.
# esbuild is a devDependency (npm ci, scripts/setup.sh).
esbuild wasm-sdk/js/pkg/wasm_sdk.js --minify --format=esm --log-level=warning --allow-overwrite \
  --outfile=wasm-sdk/js/pkg/wasm_sdk.js
gz() { gzip -9 -c "$1" | wc -c; }
wasm=$(gz wasm-sdk/js/pkg/wasm_sdk_bg.wasm)
glue=$(gz wasm-sdk/js/pkg/wasm_sdk.js)
entry=$(gz wasm-sdk/js/tapemetric.js)
echo "SDK size, gzipped: wasm $wasm B + glue $glue B + entry $entry B = $((wasm + glue + entry)) B (mux-embed: 28.8 KB)"
