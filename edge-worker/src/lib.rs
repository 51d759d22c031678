//! Tapemetric's edge: a Cloudflare Worker (workers-rs, wasm) that authenticates API keys, validates
//! and enriches events, holds them durably in a Durable Object, and writes them to the R2 lake in gzip
//! NDJSON batches. The rollup server pulls the lake through the worker's authenticated export routes.
//!
//! The logic lives in platform-free modules ([`ingest`], [`user_agent`]) that are unit-tested and
//! benchmarked natively; the `worker_glue` module (wasm only) is the thin layer over workers-rs.

pub mod ingest;
pub mod rate_limit;
pub mod user_agent;

#[cfg(target_arch = "wasm32")]
mod buffer;
#[cfg(target_arch = "wasm32")]
mod worker_glue;
