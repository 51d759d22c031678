//! The query APIs' parameter parsers (Livepeer's and mave's): any query string is read or refused
//! with a message, never a panic; what is read holds no repeated breakdown or filter dimension.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_server::api::livepeer::parse_metrics_query;
use rollup_server::api::mave::parse_get_query;

fuzz_target!(|raw: &str| {
    match parse_metrics_query(Some(raw)) {
        Ok(query) => {
            for (i, d) in query.breakdown.iter().enumerate() {
                assert!(!query.breakdown[..i].contains(d), "repeated breakdown");
            }
            for (i, (d, _)) in query.filters.iter().enumerate() {
                assert!(
                    !query.filters[..i].iter().any(|(e, _)| e == d),
                    "repeated filter"
                );
            }
            if let (Some(from), Some(to)) = (query.from_ms, query.to_ms) {
                assert!(from < to);
            }
        }
        Err(e) => assert!(!e.message().is_empty()),
    }
    match parse_get_query(raw) {
        Ok((query, ranges)) => {
            assert!((1..=1000).contains(&ranges));
            assert!(query.minimum_watch_ms >= 0);
            assert!(query.props.len() <= 10);
        }
        Err(e) => assert!(!e.message().is_empty()),
    }
});
