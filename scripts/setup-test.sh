#!/usr/bin/env bash
# Installs what `make test` needs beyond the pipeline's own setup (scripts/setup.sh, run first):
# Chromium and its driver (the SDK's browser tests, headless), ffmpeg (their test videos), cargo-fuzz
# (the bounded fuzzing run), and a Python venv with DuckDB and chDB (other engines reading the lake).
# Idempotent, like scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
source scripts/setup-lib.sh

apt_install $TEST_APT_PACKAGES

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  step "Rust nightly (rustup, minimal profile): cargo-fuzz builds with it"
  rustup toolchain install nightly --profile minimal
fi

if ! "$TOOLS_BIN/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  step "cargo-fuzz $CARGO_FUZZ_VERSION (cargo install)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS_ROOT" --force
fi

python_venv
echo "setup-test: done"
