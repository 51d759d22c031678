//! The rollup server as a library: pulls the edge's batch objects into embedded DuckDB (`pull`, `lake`,
//! `store`), decodes objects and keeps views as mergeable state (`decode`, `load`, `view_state`), computes metrics (`metrics`, `mave`, schema in `migrations/`), and serves
//! the JWT-authenticated query API and dashboard (`api`, `auth`). The `rollup-server` binary (main.rs)
//! is its command line; the fuzz targets use the parsers directly.

pub mod api;
pub mod auth;
pub mod decode;
pub mod lake;
pub mod lake_line;
pub mod load;
pub mod mave;
pub mod metrics;
pub mod pull;
pub mod readers;
pub mod staged;
pub mod store;
pub mod telemetry;
pub mod view_index;
pub mod view_state;
