#!/usr/bin/env bash
# Builds the edge worker to wasm with worker-build, using the wasm-bindgen CLI and esbuild installed by
# scripts/setup.sh (worker-build would otherwise download them, which this environment forbids).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cd edge-worker
# --no-opt: wasm-opt is not available offline; the module is still release-built.
worker-build --release --no-opt
ls -l build/worker/shim.mjs build/index_bg.wasm 2>/dev/null || ls -lR build | head -20
