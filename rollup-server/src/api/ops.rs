//! Operations routes: `GET /healthz` (liveness and store check) and `GET /metrics` (Prometheus).

use super::AppState;
use crate::clock::now_ms;
use crate::pipeline::pull::with_store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// `GET /healthz`: 200 when the store answers, with the time of the last pull.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = with_store(&state.pipeline.store, |s| s.newest_loaded_upload_ms())
        .await
        .is_ok();
    let last_pull_ms = state.telemetry.last_pull_ms();
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if store_ok { "ok" } else { "store unavailable" },
        "last_pull_ms": (last_pull_ms > 0).then_some(last_pull_ms),
    });
    (status, Json(body))
}

/// The OpenAPI document of the query API (rollup-server/openapi.json, built into the binary).
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// `GET /metrics`: OpenMetrics text (no tenant data: pipeline-wide figures, and query durations
/// by route template).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::telemetry::CONTENT_TYPE)],
        state.telemetry.render(now_ms()),
    )
}

#[cfg(test)]
mod tests {
    use super::OPENAPI_JSON;

    /// Every route the router serves is described (keep this list in step with `api::router`).
    #[test]
    fn openapi_document_describes_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        for (path, method) in [
            ("/data/views/query", "get"),
            ("/data/views/query/creator", "get"),
            ("/data/views/query/total/{playbackId}", "get"),
            ("/data/views/now", "get"),
            ("/api/v1/views/by-content", "get"),
            ("/api/v1/keys", "get"),
            ("/api/v1/keys", "post"),
            ("/api/v1/keys/{key_id}", "delete"),
            ("/admin/ingest", "post"),
            ("/admin/quarantine", "get"),
            ("/api/v1/concurrency", "get"),
            ("/api/v1/plays", "get"),
            ("/api/v1/plays", "post"),
            ("/api/v1/sources", "get"),
            ("/api/v1/sources", "post"),
            ("/api/v1/engagement", "get"),
            ("/api/v1/engagement", "post"),
            ("/healthz", "get"),
            ("/metrics", "get"),
            ("/openapi.json", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not described"
            );
        }
    }
}
