//! Tapemetric's browser SDK. A page calls `Tapemetric.init({ apiKey, endpoint })` and
//! `attach(videoElement, { contentId, ... })`; the SDK turns the element's media events into the event
//! contract's playback events and delivers them to the edge worker in batches.
//!
//! The logic is platform-free and unit-tested natively: [`session`] (anonymous and session ids, the
//! 30-minute idle rule), [`tracker`] (one view's state machine: play intent, first frame, pauses,
//! seeks, rebuffering, heartbeats with played ranges), [`delivery`] (batching and retry backoff) and
//! [`json`] (the small JSON writer events are built with).
//! The `browser` module (wasm32 only) is the thin wasm-bindgen glue over the browser.

extern crate alloc;

pub mod delivery;
pub mod json;
pub mod session;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub use browser::{Tapemetric, ViewHandle};
