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

    /// Every route the router serves is described, with each of its methods, and the document
    /// describes no route the router does not serve. OpenAPI paths name their parameters as the
    /// router does, in braces, but may call them otherwise (`{playbackId}` for `{playback_id}`).
    #[test]
    fn openapi_document_describes_every_route_and_no_other() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        let shape = |path: &str| -> String {
            path.split('/')
                .map(|part| if part.starts_with('{') { "{}" } else { part })
                .collect::<Vec<_>>()
                .join("/")
        };
        let served: std::collections::BTreeSet<(String, String)> = crate::api::api_routes()
            .into_iter()
            .flat_map(|(path, methods)| methods.iter().map(move |m| (shape(path), m.to_string())))
            .collect();
        let described: std::collections::BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(method, _)| {
                        ["get", "post", "put", "delete", "patch"].contains(&method.as_str())
                    })
                    .map(move |(method, _)| (shape(path), method.clone()))
            })
            .collect();
        let undescribed: Vec<_> = served.difference(&described).collect();
        let unserved: Vec<_> = described.difference(&served).collect();
        assert!(
            undescribed.is_empty(),
            "served, not in openapi.json: {undescribed:?}"
        );
        assert!(
            unserved.is_empty(),
            "in openapi.json, not served: {unserved:?}"
        );
        assert!(served.len() >= 20, "{served:?}");
    }
}
