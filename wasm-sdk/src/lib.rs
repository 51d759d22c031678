//! Tapemetric's browser SDK. A page calls `Tapemetric.init({ apiKey, endpoint })` and
//! `attach(videoElement, { contentId, ... })`; the SDK turns the element's media events into the event
//! contract's playback events and delivers them to the edge worker in batches.
//!
//! The logic is platform-free and unit-tested natively: [`session`] (anonymous and session ids, the
//! 30-minute idle rule), [`tracker`] (one view's state machine: play intent, first frame, pauses,
//! seeks, rebuffering, heartbeats with played ranges), and [`delivery`] (batching and retry backoff).
//! The `browser` module (wasm32 only) is the thin wasm-bindgen and web-sys glue.

pub mod delivery;
pub mod session;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub use browser::{Tapemetric, ViewHandle};
