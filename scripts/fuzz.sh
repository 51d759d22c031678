#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (default 15: the bounded run of `make test`;
# `FUZZ_SECONDS=600 make fuzz` for a longer one). Needs the nightly toolchain and cargo-fuzz
# (scripts/setup-test.sh installs both). Corpora stay in fuzz/corpus.
# A run shorter than a minute builds the targets unoptimized (`--dev`: a fresh build takes a third
# of an optimized one, and a bounded run needs fewer executions than it needs compile time); a
# longer run builds them optimized (-O), where executions per second are what count.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PATH="$TOOLS_BIN:$PATH"
seconds="${FUZZ_SECONDS:-15}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain: run scripts/setup-test.sh (or rustup toolchain install nightly)" >&2
  exit 1
fi
profile="-O"
if [ "$seconds" -lt 60 ]; then
  profile="--dev"
fi
cargo +nightly fuzz build "$profile" >/dev/null
for target in $(cargo +nightly fuzz list); do
  log="$(mktemp)"
  if ! cargo +nightly fuzz run "$profile" "$target" -- -max_total_time="$seconds" -rss_limit_mb=1024 \
      -max_len=65536 >"$log" 2>&1; then
    cat "$log" >&2
    echo "fuzz: $target failed; the crashing input is under fuzz/artifacts/$target" >&2
    exit 1
  fi
  runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
  echo "fuzz: $target ok, $runs runs in ${seconds} s"
  rm -f "$log"
done
