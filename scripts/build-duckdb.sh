#!/usr/bin/env bash
# Builds DuckDB's C++ library once per machine (and per DuckDB version) into
# $TAPEMETRIC_CACHE/libduckdb-<version>, outside any cargo feature resolution. The workspace then links
# it statically (DUCKDB_LIB_DIR, DUCKDB_STATIC, see scripts/env.sh), so no change to the workspace's
# dependencies, profiles or cargo commands ever recompiles DuckDB (~20 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

lib="$DUCKDB_LIB_DIR"
if [ -f "$lib/libduckdb_static.a" ] && [ -f "$lib/libduckdb_static_extension_autoregister.a" ]; then
  exit 0
fi

work="$TAPEMETRIC_CACHE/libduckdb-build-$DUCKDB_CRATE_VERSION-$DUCKDB_EXTENSIONS"
echo "==> building DuckDB $DUCKDB_CRATE_VERSION (bundled C++, once per machine; ~20 min on 2 cores)"
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "libduckdb-prebuild"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
libduckdb-sys = { version = "=$DUCKDB_CRATE_VERSION", features = ["bundled", "$DUCKDB_EXTENSIONS"] }

[profile.release]
opt-level = 2
debug = false
TOML
: > "$work/src/lib.rs"
# Its own target dir and environment: nothing of the workspace's build can invalidate it.
env -u DUCKDB_LIB_DIR -u DUCKDB_STATIC -u DUCKDB_INCLUDE_DIR CARGO_TARGET_DIR="$work/target" \
  cargo build --release --manifest-path "$work/Cargo.toml"

out=""
for dir in "$work"/target/release/build/libduckdb-sys-*/out; do
  [ -f "$dir/libduckdb.a" ] && out="$dir"
done
[ -n "$out" ] || { echo "build-duckdb: libduckdb.a not found under $work/target" >&2; exit 1; }
header=$(find "$work/target" -path '*duckdb/src/include/duckdb.h' | head -n 1)

mkdir -p "$lib.tmp"
cp "$out/libduckdb.a" "$lib.tmp/libduckdb_static.a"
cp "$out/libduckdb_static_extension_autoregister.a" "$lib.tmp/"
[ -n "$header" ] && cp "$header" "$lib.tmp/"
rm -rf "$lib" && mv "$lib.tmp" "$lib"
echo "==> DuckDB library ready in $lib"
