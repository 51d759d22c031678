//! Operations routes: `GET /healthz` (liveness and store check) and `GET /metrics` (Prometheus).

use super::AppState;
use crate::pull::{now_ms, with_store};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// `GET /healthz`: 200 when the store answers, with the time of the last pull.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = with_store(&state.store, |s| s.newest_loaded_upload_ms())
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

/// `GET /metrics`: Prometheus text exposition (no tenant data: pipeline-wide figures only).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.telemetry.render(now_ms()),
    )
}
