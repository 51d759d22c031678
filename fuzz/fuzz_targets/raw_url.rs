//! Opentracker-style raw URL events: any query string becomes an event object that validation
//! accepts or refuses with a message, never a panic; the id rules always yield non-empty ids.
#![no_main]

use event_schema::raw_url::{event_from_params, resolve_ids};
use event_schema::validate_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|query: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query).into_owned().collect();
    let params = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let object = event_from_params(params, 1_795_000_000_000, || "fresh-eid".to_string());
    let _ = validate_event(object, 1_795_000_000_000, &mut || "fresh-eid".to_string());
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let ids = resolve_ids(get("uid"), get("sid"), get("eid"), || {
        "fresh-eid".to_string()
    });
    assert!(!ids.eid.is_empty() && !ids.session_id.is_empty() && !ids.anonymous_id.is_empty());
});
