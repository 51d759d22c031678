//! Benchmark of the worker's ingest core (parse + validate + enrich + serialize), natively.
//! Prints figures; asserts nothing. Realistic batch: 20 events, UAs drawn from 50 distinct real UA
//! strings (uap-core's test suite in ../shared/testdata). Cold = first sighting of a UA (regexes run);
//! warm = UA already in the per-isolate cache.

use edge_worker::ingest::{ingest_batch, to_ndjson, RequestContext};
use edge_worker::user_agent::{UaCache, UaClassifier, UAP_CORE_REGEXES};
use event_schema::api_key::ApiKey;
use event_schema::GeoFields;
use std::time::Instant;
use uap_suite::real_user_agents;

mod uap_suite;

const BATCHES: usize = 2_000;
const EVENTS_PER_BATCH: usize = 20;

fn batch_body(now_ms: i64, batch: usize) -> String {
    let events: Vec<String> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            format!(
                r#"{{"type":"heartbeat","ts":{now_ms},"eid":"e-{batch}-{i}","anonymous_id":"anon-{batch}","session_id":"s-{batch}","view_id":"v-{batch}","content_id":"film-{i}","content_type":"film","duration_s":5400.0,"position_s":{i}.5,"watched_ms":10000,"rebuffer_ms":0,"played":[[{i},{}]],"page_url":"https://example.com/watch/film-{i}","player_name":"hls.js"}}"#,
                i + 10
            )
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

fn main() {
    let started = Instant::now();
    let classifier = UaClassifier::from_yaml(UAP_CORE_REGEXES).expect("uap-core rules load");
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let uas = real_user_agents(50);
    let now_ms = 1_764_000_000_000;
    let key = ApiKey {
        tenant_id: "bench".into(),
        key_id: "k1".into(),
    };
    let bodies: Vec<String> = (0..BATCHES).map(|b| batch_body(now_ms, b)).collect();

    // Cold: every request brings a UA the isolate has not seen (cache emptied each time).
    let mut cold_total = 0.0;
    let cold_requests = uas.len();
    for (i, ua) in uas.iter().enumerate() {
        let t = Instant::now();
        let mut cache = UaCache::new(16);
        let context = RequestContext {
            key: key.clone(),
            received_at: now_ms,
            user_agent: cache.get_or_classify(&classifier, ua),
            geo: GeoFields::default(),
        };
        let outcome = ingest_batch(bodies[i].as_bytes(), &context, || "gen".into()).expect("batch");
        let ndjson = to_ndjson(&outcome.stored);
        std::hint::black_box(ndjson);
        cold_total += t.elapsed().as_secs_f64();
    }

    // Warm: UAs already cached.
    let mut cache = UaCache::new(2048);
    for ua in &uas {
        cache.get_or_classify(&classifier, ua);
    }
    let t = Instant::now();
    let mut events = 0usize;
    for (b, body) in bodies.iter().enumerate() {
        let context = RequestContext {
            key: key.clone(),
            received_at: now_ms,
            user_agent: cache.get_or_classify(&classifier, &uas[b % uas.len()]),
            geo: GeoFields::default(),
        };
        let outcome = ingest_batch(body.as_bytes(), &context, || "gen".into()).expect("batch");
        events += outcome.stored.len();
        std::hint::black_box(to_ndjson(&outcome.stored));
    }
    let warm = t.elapsed().as_secs_f64();

    println!(
        "ingest core (native, {} distinct real UAs, {EVENTS_PER_BATCH} events/request)",
        uas.len()
    );
    println!(
        "  uap-core parser build          {build_ms:>10.1} ms (once per isolate, at module start)"
    );
    println!(
        "  cold request (new UA)          {:>10.1} us/request  {:>8.2} us/event",
        cold_total / cold_requests as f64 * 1e6,
        cold_total / (cold_requests * EVENTS_PER_BATCH) as f64 * 1e6
    );
    println!(
        "  warm request (cached UA)       {:>10.1} us/request  {:>8.2} us/event  ({events} events)",
        warm / BATCHES as f64 * 1e6,
        warm / events as f64 * 1e6
    );
}
