//! Tapemetric's event contract v1: the one definition of what a playback event is.
//!
//! Everything that crosses a component boundary is defined here and nowhere else: the event types and
//! fields a browser or server sends ([`ClientEvent`]), the record the edge stores in the R2 lake
//! ([`StoredEvent`]), the limits ([`limits`]), per-event validation ([`validate_event`]), the raw URL
//! (Opentracker-style) id rules ([`raw_url`]), the API key format ([`api_key`]) and the lake's object
//! names ([`batch_key`]). No I/O: the crate builds natively and for `wasm32-unknown-unknown`, so the
//! worker, the rollup server and the SDK share it. Without its default `std` feature the crate is
//! `no_std` and holds only [`EventType`], [`ContentType`] and the [`limits`]: the browser SDK's share.

#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
pub mod api_key;
#[cfg(feature = "std")]
pub mod batch_key;
#[cfg(feature = "std")]
pub mod civil_time;
mod event;
#[cfg(feature = "std")]
pub mod key_policy;
pub mod limits;
#[cfg(feature = "std")]
pub mod raw_url;
#[cfg(feature = "std")]
mod validate;

#[cfg(feature = "std")]
pub use event::{ClientEvent, GeoFields, StoredEvent, UserAgentFields};
pub use event::{ContentType, EventType};
#[cfg(feature = "std")]
pub use validate::{parse_batch, validate_event, BatchError, EventError, ValidatedBatch};
