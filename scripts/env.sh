# Shared environment for the project's scripts (sourced, not run).
export TAPEMETRIC_CACHE="${TAPEMETRIC_CACHE:-$HOME/.cache/tapemetric}"
# Build outside the clone, so that every checkout of this machine shares one build cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TAPEMETRIC_CACHE/target}"
# DuckDB: its own prebuilt shared library from the npm registry (scripts/fetch-duckdb.sh, seconds), linked
# dynamically; the binaries find it through their rpath (rollup-server/build.rs) or LD_LIBRARY_PATH.
# DUCKDB_FROM_SOURCE=1 compiles the same version's C++ instead (~45 min, scripts/build-duckdb.sh) and
# links it statically: a release binary with nothing beside it.
export DUCKDB_CRATE_VERSION="1.10506.0"
export DUCKDB_NPM_VERSION="1.5.6-r.1"
if [ "${DUCKDB_FROM_SOURCE:-0}" = 1 ]; then
  # Extensions compiled into the library (json: tests read the lake with read_json).
  export DUCKDB_EXTENSIONS="json"
  export DUCKDB_LIB_DIR="$TAPEMETRIC_CACHE/libduckdb-$DUCKDB_CRATE_VERSION-$DUCKDB_EXTENSIONS"
  export DUCKDB_STATIC=1
else
  export DUCKDB_LIB_DIR="$TAPEMETRIC_CACHE/libduckdb-$DUCKDB_NPM_VERSION"
  unset DUCKDB_STATIC
  export LD_LIBRARY_PATH="$DUCKDB_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export TOOLS_ROOT="$TAPEMETRIC_CACHE/tools"
export TOOLS_BIN="$TOOLS_ROOT/bin"
export WORKER_BUILD_VERSION="0.8.7"
# What building and running the pipeline needs (scripts/setup.sh).
export APT_PACKAGES="${APT_PACKAGES:-curl ca-certificates pkg-config libssl-dev}"
# What only the tests need (scripts/setup-test.sh): chromium + chromium-driver for the SDK's browser
# tests, ffmpeg for their test videos, python3-venv for the other engines that read the lake.
export TEST_APT_PACKAGES="${TEST_APT_PACKAGES:-chromium chromium-driver ffmpeg python3-venv}"
export PATH="$TOOLS_BIN:$PWD/node_modules/.bin:$PATH"
# worker-build would download these; point it at the ones installed here instead.
export WASM_BINDGEN_BIN="$TOOLS_BIN/wasm-bindgen"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WRANGLER_SEND_METRICS=false
export CARGO_FUZZ_VERSION="0.13.2"
# Python tools (other engines reading the lake in tests): DuckDB's own SQL and chDB (ClickHouse).
export TAPEMETRIC_VENV="$TAPEMETRIC_CACHE/venv"
export TAPEMETRIC_PYTHON="$TAPEMETRIC_VENV/bin/python"
export PY_PACKAGES="duckdb==1.2.0 chdb==4.4.0"
