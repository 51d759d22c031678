#!/usr/bin/env bash
# Builds the ingest core to wasm (release, as the Worker) and times it in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build -q -p edge-wasm-bench --target wasm32-unknown-unknown --release
out="$CARGO_TARGET_DIR/wasm-bench-pkg"
wasm-bindgen --target nodejs --no-typescript --out-dir "$out" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/edge_wasm_bench.wasm"
node scripts/bench-wasm.mjs "$out" ../shared/testdata/uap-core-0.18.0/test_ua.yaml
