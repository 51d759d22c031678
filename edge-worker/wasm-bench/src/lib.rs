//! Exports the edge worker's ingest core (parse + validate + enrich + serialize) to JavaScript, so
//! that `scripts/bench-wasm.mjs` can time exactly the code the Worker runs, compiled to wasm, in Node
//! (V8, as workerd). Nothing here is shipped.

#[cfg(target_arch = "wasm32")]
mod exports {
    use edge_worker::ingest::{ingest_batch, to_ndjson, RequestContext};
    use edge_worker::user_agent::{UaCache, UaClassifier, UAP_CORE_REGEXES};
    use event_schema::api_key::ApiKey;
    use event_schema::GeoFields;
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;

    thread_local! {
        static STATE: RefCell<Option<(UaClassifier, UaCache)>> = const { RefCell::new(None) };
    }

    /// Builds the uap-core parser (what the Worker does at module start). Returns false on failure.
    #[wasm_bindgen]
    pub fn setup() -> bool {
        let Ok(classifier) = UaClassifier::from_yaml(UAP_CORE_REGEXES) else {
            return false;
        };
        STATE.with(|s| *s.borrow_mut() = Some((classifier, UaCache::new(4096))));
        true
    }

    /// Forgets every cached UA (the next sighting of each is cold).
    #[wasm_bindgen]
    pub fn clear_ua_cache() {
        STATE.with(|s| {
            if let Some((_, cache)) = s.borrow_mut().as_mut() {
                *cache = UaCache::new(4096);
            }
        });
    }

    /// Runs one request through the ingest core; returns the NDJSON bytes produced (0 on error).
    #[wasm_bindgen]
    pub fn ingest_request(body: &str, user_agent: &str, now_ms: f64) -> usize {
        STATE.with(|s| {
            let mut state = s.borrow_mut();
            let Some((classifier, cache)) = state.as_mut() else {
                return 0;
            };
            let context = RequestContext {
                key: ApiKey {
                    tenant_id: "bench".into(),
                    key_id: "k1".into(),
                },
                received_at: now_ms as i64,
                user_agent: cache.get_or_classify(classifier, user_agent),
                geo: GeoFields::default(),
            };
            let mut n = 0u64;
            match ingest_batch(body.as_bytes(), &context, || {
                n += 1;
                format!("gen-{n}")
            }) {
                Ok(outcome) => to_ndjson(&outcome.stored).len(),
                Err(_) => 0,
            }
        })
    }
}
