//! The edge's body decoder and validator: any bytes give an accepted/rejected split or one clear
//! error, never a panic; every accepted event keeps the contract's limits and serialises again.
#![no_main]

use event_schema::{limits, parse_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let mut n = 0u32;
    if let Ok(batch) = parse_batch(body, 1_795_000_000_000, || {
        n += 1;
        format!("generated-{n}")
    }) {
        for (_, event) in &batch.accepted {
            assert!(!event.eid.is_empty() && event.eid.len() <= limits::MAX_ID_BYTES);
            assert!(!event.anonymous_id.is_empty());
            let text = serde_json::to_string(event).expect("an accepted event serialises");
            let again: event_schema::ClientEvent =
                serde_json::from_str(&text).expect("and reads back");
            assert_eq!(&again, event);
        }
    }
});
