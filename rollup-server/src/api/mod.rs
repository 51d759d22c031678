//! The HTTP API: one module per family. Handlers extract typed inputs, call one function, and return
//! `Result<Json<_>, ApiError>`. The tenant always comes from the JWT.

mod admin;
pub mod auth;
pub mod cache;
pub mod cors;
mod dashboard;
mod keys;
pub mod livepeer;
pub mod mave;
mod ops;
mod views;

use crate::api::auth::{Claims, Role, TokenAuthority};
use crate::pipeline::pull::PullError;
use crate::pipeline::Pipeline;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use event_schema::api_key::ApiKeyVerifier;
use serde_json::json;
use std::sync::Arc;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store, the lake, pulls and the in-memory views.
    pub pipeline: Arc<Pipeline>,
    pub tokens: TokenAuthority,
    pub keys: ApiKeyVerifier,
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// Browser origins allowed to call the API (CORS), e.g. a Grafana or a team's own dashboard.
    pub cors: Arc<cors::CorsOrigins>,
    /// Query answers until the data changes.
    pub cache: Arc<cache::QueryCache>,
    /// Read connections for the queries memory does not answer.
    pub readers: Arc<crate::store::readers::Readers>,
}

/// Runs `work` for `tenant` on the in-memory views as they are now, in a blocking thread (a large
/// tenant's scan takes milliseconds), in the tenant's turn (see [`crate::store::readers`]).
pub async fn with_views<T: Send + 'static>(
    state: &AppState,
    tenant: &str,
    work: impl FnOnce(&crate::query::ViewIndex) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let turn = state.readers.turn(tenant).await?;
    let index = state.pipeline.views.current();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work(&index)
    })
    .await
    .map_err(|e| ApiError::from(PullError::TaskFailed(e.to_string())))
}

/// Times query API requests for `/metrics`.
async fn time_queries(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state
        .telemetry
        .queried(started.elapsed().as_micros() as u64);
    if response.headers().contains_key(header::RETRY_AFTER) {
        state.telemetry.refused();
    }
    response
}

/// How long a client may take to send a request body, whole.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The largest request body (mave's POST queries and key requests are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Reads the request body within [`BODY_READ_TIMEOUT`] before any handler runs: a client that
/// drips its body gets 408 and its connection closed instead of holding it open.
async fn read_body_in_time(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let refused = |status: StatusCode, message: String| {
        let mut response = ApiError::new(status, message).into_response();
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        response
    };
    match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => {
            let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
            next.run(request).await
        }
        Ok(Err(_)) => refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes, or was cut off"),
        ),
        Err(_) => refused(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body took longer than {} s to arrive",
                BODY_READ_TIMEOUT.as_secs()
            ),
        ),
    }
}

/// The API's router.
pub fn router(state: AppState) -> Router {
    let queries = Router::new()
        .route("/api/v1/views/by-content", get(views::views_by_content))
        .route("/data/views/query", get(livepeer::views_query))
        .route("/data/views/query/creator", get(livepeer::views_query))
        .route(
            "/data/views/query/total/{playback_id}",
            get(livepeer::views_total),
        )
        .route("/data/views/now", get(livepeer::views_now))
        .route("/api/v1/concurrency", get(livepeer::concurrency))
        .route("/api/v1/plays", get(mave::plays).post(mave::plays))
        .route("/api/v1/sources", get(mave::sources).post(mave::sources))
        .route(
            "/api/v1/engagement",
            get(mave::engagement).post(mave::engagement),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::cached,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            time_queries,
        ));
    Router::new()
        .merge(queries)
        .route("/health", get(|| async { "ok" }))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/api/v1/keys", post(keys::create_key).get(keys::list_keys))
        .route("/api/v1/keys/{key_id}", delete(keys::revoke_key))
        .route("/admin/ingest", post(admin::ingest))
        .route("/admin/quarantine", get(admin::quarantine))
        .merge(dashboard::router())
        .layer(axum::middleware::from_fn(read_body_in_time))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::cors,
        ))
        .with_state(state)
}

/// An error answered as `{"error": "...", "details": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds for `Retry-After` (a refusal that passes).
    retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with a status and a message that says what to fix.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// This error with a `Retry-After` of `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds);
        self
    }

    /// What the answer's `error` says.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<PullError> for ApiError {
    fn from(e: PullError) -> ApiError {
        tracing::error!(error = %e, "request failed");
        match e {
            PullError::Lake(lake) => {
                ApiError::new(StatusCode::BAD_GATEWAY, format!("edge: {lake}"))
            }
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            ),
        }
    }
}

impl From<crate::store::readers::ReadError> for ApiError {
    fn from(e: crate::store::readers::ReadError) -> ApiError {
        use crate::store::readers::ReadError;
        let status = match &e {
            ReadError::TenantBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ReadError::Overloaded { .. } | ReadError::OverBudget { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ReadError::Store(_) | ReadError::TaskFailed(_) => {
                tracing::error!(error = %e, "read failed");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                );
            }
        };
        tracing::warn!(error = %e, "read refused");
        let retry = e.retry_after_s().unwrap_or(1);
        ApiError::new(status, e.to_string()).retry_after(retry)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// The verified claims of the request's bearer token.
pub struct Auth(pub Claims);

impl Auth {
    /// Refuses tokens without the admin role.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this needs a token with the admin role",
            ))
        }
    }
}

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Auth, ApiError> {
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing token: send `Authorization: Bearer <JWT>`",
                )
            })?;
        let claims = state
            .tokens
            .verify(token.trim(), crate::clock::now_ms() / 1000)
            .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
        Ok(Auth(claims))
    }
}

pub use dashboard::dev_token_router;
pub use keys::issue_key as issue_key_for_cli;
