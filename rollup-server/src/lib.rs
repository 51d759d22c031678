//! The rollup server as a library, one module per stage of the path a lake line takes:
//!
//! - [`source`]: where objects come from (the edge's export routes, or a lake directory);
//! - [`decode`]: gunzip and the lake line parser;
//! - [`fold`]: exactly-once, identify links, and events folded into mergeable view state;
//! - [`store`]: embedded DuckDB: migrations, the transactional write, keys, read connections;
//! - [`query`]: every tenant's views in memory and the metrics computed from them;
//! - [`pipeline`]: pulls (scheduled and on demand) that run source -> decode -> fold -> store -> query;
//! - [`api`]: the HTTP API (JWT auth, Livepeer and mave families, dashboard, admin);
//! - [`telemetry`]: Prometheus figures; [`clock`]: the one clock.
//!
//! The `rollup-server` binary (main.rs) is its command line; the fuzz targets use the parsers directly.

pub mod api;
pub mod clock;
pub mod decode;
pub mod fold;
pub mod pipeline;
pub mod query;
pub mod source;
pub mod store;
pub mod telemetry;
