//! Tapemetric's event contract v1: the one definition of what a playback event is.
//!
//! Everything that crosses a component boundary is defined here and nowhere else: the event types and
//! fields a browser or server sends ([`ClientEvent`]), the record the edge stores in the R2 lake
//! ([`StoredEvent`]), the limits ([`limits`]), per-event validation ([`validate_event`]), the raw URL
//! (Opentracker-style) id rules ([`raw_url`]), the API key format ([`api_key`]) and the lake's object
//! names ([`batch_key`]). No I/O: the crate builds natively and for `wasm32-unknown-unknown`, so the
//! worker, the rollup server and the SDK share it.

pub mod api_key;
pub mod batch_key;
pub mod civil_time;
mod event;
pub mod key_policy;
pub mod limits;
pub mod raw_url;
mod validate;

pub use event::{ClientEvent, ContentType, EventType, GeoFields, StoredEvent, UserAgentFields};
pub use validate::{parse_batch, validate_event, BatchError, EventError, ValidatedBatch};
