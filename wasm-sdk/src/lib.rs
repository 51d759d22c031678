//! Tapemetric's browser SDK. A page calls `Tapemetric.init({ apiKey, endpoint })` and
//! `attach(videoElement, { contentId, ... })`; the SDK turns the element's media events into the event
//! contract's playback events and delivers them to the edge worker in batches.
//!
//! The logic is platform-free and unit-tested natively: [`session`] (anonymous and session ids, the
//! 30-minute idle rule), [`tracker`] (one view's state machine: play intent, first frame, pauses,
//! seeks, rebuffering, heartbeats with played ranges), [`event`] (an event's envelope of ids, time
//! and page), [`delivery`] (batching and retry backoff) and [`json`] (the small JSON writer events
//! are built with).
//! The `browser` module (wasm32 only) is the thin wasm-bindgen glue over the browser.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod delivery;
pub mod event;
pub mod json;
pub mod session;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub use browser::{Tapemetric, ViewHandle};

/// What std would provide, for the shipped wasm built without it (`--no-default-features`).
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime {
    /// A free-list allocator of a few hundred bytes, instead of std's dlmalloc (several KB).
    #[global_allocator]
    static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
        lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

    /// A panic (a bug: the SDK's own code does not panic on any input) traps, which the browser
    /// reports as a `RuntimeError`; no message is formatted, so `core::fmt` stays out of the wasm.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}
