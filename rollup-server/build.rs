//! Links the DuckDB library that scripts/build-duckdb.sh builds once per machine (see scripts/env.sh).
//! `libduckdb-sys` links `libduckdb_static.a` from `DUCKDB_LIB_DIR`; this adds what its bundled mode
//! would: the static extension autoregistration (whole archive) and the C++ runtime.

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let Ok(lib_dir) = std::env::var("DUCKDB_LIB_DIR") else {
        panic!(
            "DUCKDB_LIB_DIR is not set: build through the Makefile (`make build`), or run \
             `bash scripts/setup.sh` and `source scripts/env.sh` first"
        );
    };
    let autoregister =
        std::path::Path::new(&lib_dir).join("libduckdb_static_extension_autoregister.a");
    if !autoregister.exists() {
        panic!(
            "{} is missing: run `bash scripts/build-duckdb.sh`",
            autoregister.display()
        );
    }
    println!("cargo:rerun-if-changed={}", autoregister.display());
    println!("cargo:rustc-link-search=native={lib_dir}");
    println!("cargo:rustc-link-lib=static:+whole-archive=duckdb_static_extension_autoregister");
    println!("cargo:rustc-link-lib=dylib=stdc++");
}
