//! Links DuckDB (see scripts/env.sh). By default that is DuckDB's prebuilt `libduckdb.so`
//! (scripts/fetch-duckdb.sh): `libduckdb-sys` links it from `DUCKDB_LIB_DIR`, and this adds an rpath
//! so the binaries find it at run time: first beside the binary (`$ORIGIN`, how a release is
//! installed: copy `libduckdb.so` next to `rollup-server`), then in the directory it was linked from.
//! With `DUCKDB_STATIC` (scripts/build-duckdb.sh, `DUCKDB_FROM_SOURCE=1`) the library is linked
//! statically and this adds what the bundled mode would: the static extension autoregistration
//! (whole archive) and the C++ runtime.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DUCKDB_STATIC");
    let Ok(lib_dir) = std::env::var("DUCKDB_LIB_DIR") else {
        panic!(
            "DUCKDB_LIB_DIR is not set: build through the Makefile (`make build`), or run \
             `bash scripts/setup.sh` and `source scripts/env.sh` first"
        );
    };
    let lib_dir = Path::new(&lib_dir);
    if std::env::var_os("DUCKDB_STATIC").is_some() {
        let autoregister = lib_dir.join("libduckdb_static_extension_autoregister.a");
        if !autoregister.exists() {
            panic!(
                "{} is missing: run `bash scripts/build-duckdb.sh`",
                autoregister.display()
            );
        }
        println!("cargo:rerun-if-changed={}", autoregister.display());
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:rustc-link-lib=static:+whole-archive=duckdb_static_extension_autoregister");
        println!("cargo:rustc-link-lib=dylib=stdc++");
    } else {
        let shared = lib_dir.join("libduckdb.so");
        if !shared.exists() {
            panic!(
                "{} is missing: run `bash scripts/fetch-duckdb.sh`",
                shared.display()
            );
        }
        println!("cargo:rerun-if-changed={}", shared.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    }
}
