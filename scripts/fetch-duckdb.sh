#!/usr/bin/env bash
# Puts DuckDB's own prebuilt shared library (libduckdb.so, the whole C API, json and parquet built in)
# into $DUCKDB_LIB_DIR, once per machine. DuckDB publishes it through the npm registry in the package
# `@duckdb/node-bindings-linux-x64`; `npm pack` checks the tarball against the registry's integrity
# hash. Takes seconds, where compiling DuckDB's C++ takes ~45 minutes on 2 cores
# (scripts/build-duckdb.sh, kept for a static release binary: DUCKDB_FROM_SOURCE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

lib="$DUCKDB_LIB_DIR"
[ -f "$lib/libduckdb.so" ] && exit 0

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  *) echo "fetch-duckdb: no prebuilt DuckDB for $(uname -s)-$(uname -m); run DUCKDB_FROM_SOURCE=1 make build" >&2; exit 1 ;;
esac
package="@duckdb/node-bindings-$platform@$DUCKDB_NPM_VERSION"
echo "==> DuckDB $DUCKDB_NPM_VERSION prebuilt library ($package, npm registry)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/libduckdb.so package/LICENSE
mkdir -p "$lib.tmp"
mv "$work/package/libduckdb.so" "$work/package/LICENSE" "$lib.tmp/"
rm -rf "$lib" && mv "$lib.tmp" "$lib"
echo "==> DuckDB library ready in $lib"
