//! The rollup server as a library: pulls the edge's batch objects into embedded DuckDB (`pull`, `lake`,
//! `store`), computes views and metrics (`metrics`, `mave`, SQL in `migrations/` and `sql/`), and serves
//! the JWT-authenticated query API and dashboard (`api`, `auth`). The `rollup-server` binary (main.rs)
//! is its command line; the fuzz targets use the parsers directly.

pub mod api;
pub mod auth;
pub mod lake;
pub mod mave;
pub mod metrics;
pub mod pull;
pub mod store;
pub mod telemetry;
