//! Answers of the query API, cached per tenant and URL until the data changes. Dashboards poll the same
//! queries every minute while the data changes once per pull (every five minutes by default), so most
//! polls are answered from memory. An entry lives until the next pull that changed something, and at
//! most [`MAX_AGE`] (relative windows such as "the last 7 days" move with the clock).

use super::AppState;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest life of an entry.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Most entries; when full, the cache starts over.
const MAX_ENTRIES: usize = 2_000;
/// Most bytes of answers kept; when full, the cache starts over.
const MAX_TOTAL_BYTES: usize = 256 << 20;
/// Largest answer kept (larger ones are answered, not kept). mave's sources per day over a month
/// of a busy tenant are a few MB.
const MAX_BODY_BYTES: usize = 16 << 20;

struct Entry {
    version: u64,
    stored: Instant,
    body: Bytes,
}

/// The cache and the data version it is valid for.
#[derive(Default)]
pub struct QueryCache {
    version: AtomicU64,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<(String, String), Entry>,
    bytes: usize,
}

impl QueryCache {
    /// Marks every cached answer stale (call after a load or deletion changed the data).
    pub fn data_changed(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    fn get(&self, key: &(String, String)) -> Option<Bytes> {
        let version = self.version.load(Ordering::SeqCst);
        let entries = self.entries.lock().ok()?;
        entries
            .map
            .get(key)
            .filter(|e| e.version == version && e.stored.elapsed() < MAX_AGE)
            .map(|e| e.body.clone())
    }

    fn put(&self, key: (String, String), version: u64, body: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.map.len() >= MAX_ENTRIES || entries.bytes + body.len() > MAX_TOTAL_BYTES {
                entries.map.clear();
                entries.bytes = 0;
            }
            entries.bytes += body.len();
            let replaced = entries.map.insert(
                key,
                Entry {
                    version,
                    stored: Instant::now(),
                    body,
                },
            );
            if let Some(old) = replaced {
                entries.bytes -= old.body.len();
            }
        }
    }
}

/// Serves GETs of a valid token's tenant from the cache (`x-cache: hit`), and stores successful JSON
/// answers (`x-cache: miss`). The token is verified on every request, cached or not; the tenant, never
/// the token, keys the cache, so no answer can reach another tenant.
pub async fn cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tenant = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            state
                .tokens
                .verify(token.trim(), crate::pull::now_ms() / 1000)
                .ok()
        })
        .map(|claims| claims.tenant);
    // Viewers "now" move with the clock: never cached.
    let cacheable = request.method() == Method::GET && request.uri().path() != "/data/views/now";
    let (Some(tenant), true) = (tenant, cacheable) else {
        // Refusals and non-GETs take the normal path (which answers them).
        return next.run(request).await;
    };
    let key = (tenant, request.uri().to_string());
    // `Cache-Control: no-cache` asks for a fresh answer (which is then kept).
    let fresh = request
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-cache"));
    if !fresh {
        if let Some(body) = state.cache.get(&key) {
            return json(body, "hit");
        }
    }
    let version = state.cache.version.load(Ordering::SeqCst);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    match to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            if bytes.len() <= MAX_BODY_BYTES {
                state.cache.put(key, version, bytes.clone());
            }
            let mut response = Response::from_parts(parts, Body::from(bytes));
            response
                .headers_mut()
                .insert("x-cache", HeaderValue::from_static("miss"));
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": format!("answer could not be read: {e}") })),
        )
            .into_response(),
    }
}

fn json(body: Bytes, cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-cache", HeaderValue::from_static(cache));
    response
}
