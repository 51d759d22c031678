//! Answers of the query API, cached per tenant and URL until the data changes. Each tenant has its own
//! share (entries and bytes), so no tenant's queries evict another's answers. Dashboards poll the same
//! queries every minute while the data changes once per pull (every five minutes by default), so most
//! polls are answered from memory. An entry lives until the next pull that changed something (the views' generation moves on), and at
//! most [`MAX_AGE`] (relative windows such as "the last 7 days" move with the clock).

use super::AppState;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest life of an entry.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Most entries of one tenant; when its share is full, only that tenant's entries start over, so a
/// tenant asking many different queries evicts nobody else's answers.
const MAX_TENANT_ENTRIES: usize = 1_000;
/// Most bytes of one tenant's answers.
const MAX_TENANT_BYTES: usize = 64 << 20;
/// Most bytes of answers kept in all; when full, the tenant holding the most starts over.
const MAX_TOTAL_BYTES: usize = 256 << 20;
/// Largest answer kept (larger ones are answered, not kept). mave's sources per day over a month
/// of a busy tenant are a few MB.
const MAX_BODY_BYTES: usize = 16 << 20;

struct Entry {
    version: u64,
    stored: Instant,
    body: Bytes,
}

/// Answers per tenant, each kept with the generation of the in-memory views it was computed from
/// ([`crate::query::SharedViewIndex::generation`]): an answer of an older generation is a miss.
#[derive(Default)]
pub struct QueryCache {
    entries: Mutex<Entries>,
}

/// One tenant's share of the cache: URL -> answer.
#[derive(Default)]
struct Share {
    map: HashMap<String, Entry>,
    bytes: usize,
}

#[derive(Default)]
struct Entries {
    tenants: HashMap<String, Share>,
    bytes: usize,
}

impl Entries {
    /// Forgets one tenant's answers.
    fn clear_tenant(&mut self, tenant: &str) {
        if let Some(share) = self.tenants.remove(tenant) {
            self.bytes -= share.bytes;
        }
    }
}

impl QueryCache {
    fn get(&self, key: &(String, String), version: u64) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .tenants
            .get(&key.0)?
            .map
            .get(&key.1)
            .filter(|e| e.version == version && e.stored.elapsed() < MAX_AGE)
            .map(|e| e.body.clone())
    }

    fn put(&self, key: (String, String), version: u64, body: Bytes) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let (tenant, url) = key;
        let full = entries.tenants.get(&tenant).is_some_and(|share| {
            share.map.len() >= MAX_TENANT_ENTRIES || share.bytes + body.len() > MAX_TENANT_BYTES
        });
        if full {
            entries.clear_tenant(&tenant);
        }
        while entries.bytes + body.len() > MAX_TOTAL_BYTES {
            let Some(largest) = entries
                .tenants
                .iter()
                .max_by_key(|(_, share)| share.bytes)
                .map(|(t, _)| t.clone())
            else {
                break;
            };
            entries.clear_tenant(&largest);
        }
        entries.bytes += body.len();
        let share = entries.tenants.entry(tenant).or_default();
        share.bytes += body.len();
        let replaced = share.map.insert(
            url,
            Entry {
                version,
                stored: Instant::now(),
                body,
            },
        );
        if let Some(old) = replaced {
            share.bytes -= old.body.len();
            entries.bytes -= old.body.len();
        }
    }
}

/// Serves GETs of a valid token's tenant from the cache (`x-cache: hit`), and stores successful JSON
/// answers (`x-cache: miss`). The token is verified on every request, cached or not, once: the
/// handler takes the verified claims from here. The tenant, never the token, keys the cache, so no
/// answer can reach another tenant.
pub async fn cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let verified = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            state
                .tokens
                .verify(token.trim(), crate::clock::now_ms() / 1000)
                .ok()
        });
    // Viewers "now" move with the clock: never cached.
    let cacheable = request.method() == Method::GET && request.uri().path() != "/data/views/now";
    let Some(claims) = verified else {
        // Refusals take the normal path (which answers them).
        return next.run(request).await;
    };
    let tenant = claims.tenant.clone();
    // The handler's `Auth` takes these claims instead of verifying the token again.
    let mut request = request;
    request.extensions_mut().insert(super::Verified(claims));
    if !cacheable {
        return next.run(request).await;
    }
    let key = (tenant, request.uri().to_string());
    // `Cache-Control: no-cache` asks for a fresh answer (which is then kept).
    let fresh = request
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-cache"));
    // Read before the answer is computed: the answer comes from this generation's views or a newer
    // one, so it is never kept under a newer generation than its data.
    let version = state.pipeline.views.generation();
    if !fresh {
        if let Some(body) = state.cache.get(&key, version) {
            return json(body, "hit");
        }
    }
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
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be read for the cache");
            super::ApiError::Internal.into_response()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: &str, url: &str) -> (String, String) {
        (tenant.to_string(), url.to_string())
    }

    #[test]
    fn one_tenant_filling_its_share_evicts_nobody_elses_answers() {
        let cache = QueryCache::default();
        cache.put(
            key("b", "/data/views/query"),
            0,
            Bytes::from_static(b"{\"b\":1}"),
        );
        // The review's reproduction: 2 100 distinct queries of tenant A.
        for i in 0..2_100 {
            cache.put(
                key("a", &format!("/data/views/query?q={i}")),
                0,
                Bytes::from_static(b"{}"),
            );
        }
        assert_eq!(
            cache.get(&key("b", "/data/views/query"), 0).as_deref(),
            Some(&b"{\"b\":1}"[..]),
            "b's answer survives a's flood"
        );
        let entries = cache.entries.lock().expect("lock");
        let a = &entries.tenants["a"];
        assert!(a.map.len() <= MAX_TENANT_ENTRIES && !a.map.is_empty());
        let total: usize = entries.tenants.values().map(|s| s.bytes).sum();
        assert_eq!(total, entries.bytes, "byte counts stay exact");
    }

    #[test]
    fn past_the_total_the_largest_share_starts_over() {
        let cache = QueryCache::default();
        let big = Bytes::from(vec![b' '; MAX_BODY_BYTES]);
        cache.put(key("small", "/x"), 0, Bytes::from_static(b"{}"));
        // 16 MB answers from five tenants (64 MB each at most): past the 256 MB of the whole cache.
        for i in 0..20 {
            let tenant = ["a", "b", "c", "d", "e"][i % 5];
            cache.put(key(tenant, &format!("/q{i}")), 0, big.clone());
        }
        let entries = cache.entries.lock().expect("lock");
        assert!(entries.bytes <= MAX_TOTAL_BYTES);
        assert!(
            entries.tenants.contains_key("small"),
            "the smallest share stays"
        );
        let total: usize = entries.tenants.values().map(|s| s.bytes).sum();
        assert_eq!(total, entries.bytes);
    }

    #[test]
    fn a_stale_version_is_a_miss() {
        let cache = QueryCache::default();
        cache.put(key("a", "/q"), 0, Bytes::from_static(b"{}"));
        assert!(cache.get(&key("a", "/q"), 0).is_some());
        assert!(cache.get(&key("a", "/q"), 1).is_none());
        assert!(
            cache.get(&key("b", "/q"), 0).is_none(),
            "another tenant never hits"
        );
    }
}
