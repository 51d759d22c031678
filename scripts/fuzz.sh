#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (default 15: the bounded run of `make test`;
# `FUZZ_SECONDS=600 make fuzz` for a longer one). Needs the nightly toolchain and cargo-fuzz
# (scripts/setup.sh installs cargo-fuzz; nightly comes with rustup). Corpora stay in fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PATH="$TOOLS_BIN:$PATH"
seconds="${FUZZ_SECONDS:-15}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: skipped, no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 0
fi
cargo +nightly fuzz build -O >/dev/null
for target in $(cargo +nightly fuzz list); do
  log="$(mktemp)"
  if ! cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" -rss_limit_mb=1024 \
      -max_len=65536 >"$log" 2>&1; then
    cat "$log" >&2
    echo "fuzz: $target failed; the crashing input is under fuzz/artifacts/$target" >&2
    exit 1
  fi
  runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
  echo "fuzz: $target ok, $runs runs in ${seconds} s"
  rm -f "$log"
done
