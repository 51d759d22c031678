//! The SDK in a real browser (headless Chromium through wasm-bindgen-test-runner and chromedriver):
//! identity kept in localStorage, session rotation after 30 idle minutes, batching, and events kept
//! for a retry when the network fails. Run with `make test` (wasm32 target, browser runner).
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use wasm_sdk::session::SESSION_IDLE_MS;

wasm_bindgen_test_configure!(run_in_browser);

/// An endpoint nothing listens on: every delivery fails.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

fn storage() -> web_sys::Storage {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .expect("localStorage")
}

fn options(endpoint: &str) -> JsValue {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"apiKey".into(), &"tmk_test_k1_sig".into()).expect("set");
    js_sys::Reflect::set(&o, &"endpoint".into(), &endpoint.into()).expect("set");
    o.into()
}

fn queued() -> Vec<Value> {
    let text = storage()
        .get_item("tapemetric.queue")
        .ok()
        .flatten()
        .unwrap_or_else(|| "[]".into());
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[wasm_bindgen_test]
fn anonymous_id_persists_across_clients_and_reset_forgets_it() {
    storage().clear().expect("clear");
    let first = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    first.track_page_view(Some("/a".into()));
    let id = storage()
        .get_item("tapemetric.anonymous_id")
        .ok()
        .flatten()
        .expect("stored id");
    let second = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    second.track_page_view(Some("/b".into()));
    let events = queued();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e["anonymous_id"] == Value::String(id.clone())));
    second.reset();
    second.track_page_view(Some("/c".into()));
    let after = storage()
        .get_item("tapemetric.anonymous_id")
        .ok()
        .flatten()
        .expect("new id");
    assert_ne!(after, id, "reset starts a fresh identity");
}

#[wasm_bindgen_test]
fn session_rotates_after_30_idle_minutes_only() {
    storage().clear().expect("clear");
    let now = js_sys::Date::now();
    storage()
        .set_item(
            "tapemetric.session",
            &format!("recent-session|{}", (now - 60_000.0) as i64),
        )
        .expect("set");
    let client = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    client.track("tick".into(), JsValue::NULL);
    assert_eq!(queued()[0]["session_id"], "recent-session");
    storage()
        .set_item(
            "tapemetric.session",
            &format!("stale-session|{}", (now - SESSION_IDLE_MS - 1.0) as i64),
        )
        .expect("set");
    client.track("tock".into(), JsValue::NULL);
    let rotated = queued()[1]["session_id"].as_str().unwrap_or("").to_string();
    assert!(
        !rotated.is_empty() && rotated != "stale-session",
        "got {rotated}"
    );
}

#[wasm_bindgen_test]
fn events_are_batched_with_contract_fields() {
    storage().clear().expect("clear");
    let client = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    client.identify("user-7".into(), JsValue::NULL);
    client.track("share".into(), JsValue::NULL);
    client.track_page_view(None);
    assert_eq!(client.pending_events(), 3);
    let events = queued();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, vec!["identify", "custom", "page_view"]);
    for e in &events {
        assert!(e["eid"].as_str().is_some_and(|s| s.len() == 36));
        assert!(e["ts"].as_f64().is_some_and(|t| t > 1.6e12));
        assert_eq!(e["user_id"], "user-7");
    }
}

#[wasm_bindgen_test]
async fn failed_delivery_keeps_events_for_a_retry_and_a_reload() {
    storage().clear().expect("clear");
    let client = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    client.track("one".into(), JsValue::NULL);
    client.track("two".into(), JsValue::NULL);
    client.flush();
    sleep_ms(1_500).await;
    assert_eq!(
        client.pending_events(),
        2,
        "nothing is lost when the network fails"
    );
    // A new page load picks the queue up again.
    let reloaded = wasm_sdk::Tapemetric::init(options(DEAD_ENDPOINT));
    assert_eq!(reloaded.pending_events(), 2);
}

/// Replaces the page's `fetch` with a stub that records each request in `globalThis.sent`
/// (`{keepalive, body}`) and answers `status`, or fails like a network that is down when `status` is
/// 0. [`restore_fetch`] puts the real one back.
fn stub_fetch(status: u16) {
    js_sys::eval(&format!(
        "globalThis.realFetch ??= fetch; globalThis.sent ??= []; \
         globalThis.fetch = (url, init) => {{ \
           sent.push({{ keepalive: init.keepalive === true, body: init.body }}); \
           return {status} ? Promise.resolve({{ status: {status} }}) \
                           : Promise.reject(new TypeError('Failed to fetch')); }};"
    ))
    .expect("stub fetch");
}

fn restore_fetch() {
    js_sys::eval("globalThis.fetch = globalThis.realFetch; globalThis.sent = [];")
        .expect("restore fetch");
}

/// The request bodies the stub has seen, with their `keepalive` flag.
fn sent() -> Vec<(bool, String)> {
    let sent = js_sys::eval("JSON.stringify(globalThis.sent ?? [])")
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let sent: Vec<Value> = serde_json::from_str(&sent).unwrap_or_default();
    sent.iter()
        .map(|r| {
            let body = r["body"].as_str().unwrap_or_default().to_string();
            (r["keepalive"] == Value::Bool(true), body)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_network_coming_back_sends_without_waiting_out_the_backoff() {
    storage().clear().expect("clear");
    stub_fetch(0);
    let client = wasm_sdk::Tapemetric::init(options("http://127.0.0.1:8787"));
    client.track("queued offline".into(), JsValue::NULL);
    client.flush();
    sleep_ms(300).await;
    assert_eq!(sent().len(), 1, "one failed attempt");
    assert_eq!(client.pending_events(), 1);
    // The network is back: the browser says so with `online`. The regular send is 5 s after start
    // and the backoff would hold it longer after minutes offline; the SDK sends at its next tick.
    stub_fetch(202);
    js_sys::eval("dispatchEvent(new Event('online'))").expect("online");
    sleep_ms(1_600).await;
    let attempts = sent().len();
    let pending = client.pending_events();
    restore_fetch();
    assert_eq!(attempts, 2, "sent again at once");
    assert_eq!(pending, 0, "delivered");
}

#[wasm_bindgen_test]
async fn an_outage_backlog_goes_out_a_keepalive_sized_batch_a_second() {
    storage().clear().expect("clear");
    stub_fetch(202);
    let client = wasm_sdk::Tapemetric::init(options("http://127.0.0.1:8787"));
    // ~120 KB queued, as after 20 minutes offline (custom events with 1 KB of props each).
    let props: JsValue =
        js_sys::JSON::parse(&format!("{{\"pad\":\"{}\"}}", "x".repeat(1_000))).expect("props");
    for _ in 0..100 {
        client.track("backlog".into(), props.clone());
    }
    client.flush();
    // The first batch now, then one a tick (1 s), well before the 5 s send interval.
    sleep_ms(4_300).await;
    let requests = sent();
    let pending = client.pending_events();
    restore_fetch();
    assert_eq!(pending, 0, "the backlog is delivered");
    assert!(requests.len() >= 4, "{} requests", requests.len());
    let mut eids = std::collections::BTreeSet::new();
    for (keepalive, body) in &requests {
        assert!(keepalive, "sent as keep-alive");
        assert!(
            body.len() <= 32 * 1024,
            "{} B: over half the 64 KiB keep-alive budget",
            body.len()
        );
        let body: Value = serde_json::from_str(body).expect("JSON body");
        for event in body["events"].as_array().into_iter().flatten() {
            eids.insert(event["eid"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(eids.len(), 100, "every event once");
}

#[wasm_bindgen_test]
async fn a_request_that_never_answers_is_abandoned_and_retried() {
    storage().clear().expect("clear");
    // A network that died mid-request: the request hangs until its signal aborts it. The SDK's
    // timeout signal is swapped for one the test aborts, instead of waiting its 30 s.
    js_sys::eval(
        "globalThis.realTimeout ??= AbortSignal.timeout; \
         AbortSignal.timeout = (ms) => { const c = new AbortController(); \
           globalThis.requestTimeoutMs = ms; \
           globalThis.timeOut = () => c.abort(new DOMException('timed out', 'TimeoutError')); \
           return c.signal; }; \
         globalThis.realFetch ??= fetch; globalThis.sent = []; \
         globalThis.fetch = (url, init) => { sent.push({ keepalive: init.keepalive === true, body: init.body }); \
           return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason))); };",
    )
    .expect("hanging fetch");
    let client = wasm_sdk::Tapemetric::init(options("http://127.0.0.1:8787"));
    client.track("stuck".into(), JsValue::NULL);
    client.flush();
    sleep_ms(200).await;
    client.flush();
    assert_eq!(sent().len(), 1, "one request in flight at a time");
    let timeout_ms = js_sys::eval("globalThis.requestTimeoutMs")
        .ok()
        .and_then(|v| v.as_f64());
    js_sys::eval("timeOut()").expect("time out");
    sleep_ms(1_200).await;
    stub_fetch(202);
    client.flush();
    sleep_ms(200).await;
    let attempts = sent().len();
    let pending = client.pending_events();
    js_sys::eval("AbortSignal.timeout = globalThis.realTimeout").expect("restore timeout");
    restore_fetch();
    assert_eq!(timeout_ms, Some(30_000.0), "requests time out after 30 s");
    assert_eq!(attempts, 2, "the abandoned request was retried");
    assert_eq!(pending, 0, "and delivered");
}
