#!/usr/bin/env bash
# Installs what a fresh Debian machine with Rust and Node needs to build and run the pipeline (`make dev`):
# a few apt packages, the wasm32 target, the npm packages, the wasm-bindgen CLI and worker-build, and
# DuckDB's prebuilt library. What only tests need is scripts/setup-test.sh; the benchmark's peers are
# scripts/setup-peers.sh. Idempotent: each step is skipped when its result is already there. Tools go
# to $TAPEMETRIC_CACHE (outside the clone) so that CI runs and later checkouts reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

source scripts/setup-lib.sh

apt_install $APT_PACKAGES

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  step "rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (wrangler, esbuild, binaryen, uap-core, the official livepeer and @mux/mux-node clients)"
  npm ci --no-audit --no-fund
fi

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! "$TOOLS_BIN/wasm-bindgen" --version 2>/dev/null | grep -q " $bindgen_version"; then
  step "wasm-bindgen-cli $bindgen_version (cargo install)"
  # No --locked: the registry index here lacks one of its locked dependencies.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --root "$TOOLS_ROOT" --force
fi

if ! "$TOOLS_BIN/worker-build" --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  step "worker-build $WORKER_BUILD_VERSION (cargo install)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --root "$TOOLS_ROOT" --force
fi

if [ "${DUCKDB_FROM_SOURCE:-0}" = 1 ]; then bash scripts/build-duckdb.sh; else bash scripts/fetch-duckdb.sh; fi

echo "setup: done"
