#!/usr/bin/env bash
# Installs everything a fresh Debian machine with Rust and Node needs to build, run and test Tapemetric.
# Idempotent: each step is skipped when its result is already there. Tools go to $TAPEMETRIC_CACHE
# (outside the clone) so that CI runs and later checkouts reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }

if [ "${SKIP_APT:-0}" != 1 ]; then
  missing=()
  for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "apt packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  step "rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (wrangler, esbuild, binaryen, uap-core)"
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

if ! "$TOOLS_BIN/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  step "cargo-fuzz $CARGO_FUZZ_VERSION (cargo install)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS_ROOT" --force
fi

if ! "$TAPEMETRIC_PYTHON" -c "import duckdb, chdb" 2>/dev/null; then
  step "Python venv with $PY_PACKAGES (pip)"
  python3 -m venv "$TAPEMETRIC_VENV"
  "$TAPEMETRIC_VENV/bin/pip" install -q $PY_PACKAGES
fi

if [ "${DUCKDB_FROM_SOURCE:-0}" = 1 ]; then bash scripts/build-duckdb.sh; else bash scripts/fetch-duckdb.sh; fi

echo "setup: done"
