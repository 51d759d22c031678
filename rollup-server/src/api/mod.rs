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
pub mod mux;
mod ops;
mod views;

use crate::api::auth::{Claims, Role, TokenAuthority};
use crate::pipeline::pull::PullError;
use crate::pipeline::Pipeline;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
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
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state
        .telemetry
        .queried(&route, started.elapsed().as_secs_f64());
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
        Ok(Err(_)) => ApiError::PayloadTooLarge(format!(
            "the request body is larger than {MAX_BODY_BYTES} bytes, or was cut off"
        ))
        .into_response(),
        Err(_) => ApiError::RequestTimeout(format!(
            "the request body took longer than {} s to arrive",
            BODY_READ_TIMEOUT.as_secs()
        ))
        .into_response(),
    }
}

/// The API's router.
/// A route of the API: its path, the methods it answers, and their handlers.
type Route = (
    &'static str,
    &'static [&'static str],
    MethodRouter<AppState>,
);

/// The query routes: answered from the cache when they can be, and timed for `/metrics`.
fn query_routes() -> Vec<Route> {
    vec![
        (
            "/api/v1/views/by-content",
            &["get"],
            get(views::views_by_content),
        ),
        ("/data/views/query", &["get"], get(livepeer::views_query)),
        (
            "/data/views/query/creator",
            &["get"],
            get(livepeer::views_query),
        ),
        (
            "/data/views/query/total/{playback_id}",
            &["get"],
            get(livepeer::views_total),
        ),
        ("/data/views/now", &["get"], get(livepeer::views_now)),
        ("/api/v1/concurrency", &["get"], get(livepeer::concurrency)),
        (
            "/api/v1/plays",
            &["get", "post"],
            mave::route(mave::Answer::Plays),
        ),
        (
            "/api/v1/sources",
            &["get", "post"],
            mave::route(mave::Answer::Sources),
        ),
        (
            "/api/v1/engagement",
            &["get", "post"],
            mave::route(mave::Answer::Engagement),
        ),
        (
            "/data/v1/metrics/comparison",
            &["get"],
            get(mux::comparison),
        ),
        (
            "/data/v1/metrics/{metric}/overall",
            &["get"],
            get(mux::overall),
        ),
        (
            "/data/v1/metrics/{metric}/breakdown",
            &["get"],
            get(mux::breakdown),
        ),
        (
            "/data/v1/metrics/{metric}/timeseries",
            &["get"],
            get(mux::timeseries),
        ),
        (
            "/data/v1/metrics/{metric}/insights",
            &["get"],
            get(mux::insights),
        ),
        ("/data/v1/dimensions", &["get"], get(mux::dimensions)),
        (
            "/data/v1/dimensions/{dimension}",
            &["get"],
            get(mux::dimension_values),
        ),
    ]
}

/// The other routes of the API (the dashboard's pages and assets are not part of it).
fn other_routes() -> Vec<Route> {
    vec![
        ("/health", &["get"], get(|| async { "ok" })),
        ("/healthz", &["get"], get(ops::healthz)),
        ("/metrics", &["get"], get(ops::metrics)),
        ("/openapi.json", &["get"], get(ops::openapi)),
        (
            "/api/v1/keys",
            &["get", "post"],
            post(keys::create_key).get(keys::list_keys),
        ),
        (
            "/api/v1/keys/{key_id}",
            &["delete"],
            delete(keys::revoke_key),
        ),
        ("/admin/ingest", &["post"], post(admin::ingest)),
        ("/admin/quarantine", &["get"], get(admin::quarantine)),
    ]
}

/// Every route of the API with its methods, as the router serves them.
pub fn api_routes() -> Vec<(&'static str, &'static [&'static str])> {
    query_routes()
        .into_iter()
        .chain(other_routes())
        .map(|(path, methods, _)| (path, methods))
        .collect()
}

pub fn router(state: AppState) -> Router {
    let mut queries = Router::new();
    for (path, _, handlers) in query_routes() {
        queries = queries.route(path, handlers);
    }
    let queries = queries
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::cached,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            time_queries,
        ));
    let mut app = Router::new().merge(queries);
    for (path, _, handlers) in other_routes() {
        app = app.route(path, handlers);
    }
    app.merge(dashboard::router())
        .layer(axum::middleware::from_fn(read_body_in_time))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::cors,
        ))
        .with_state(state)
}

/// Why a request was not answered. Each kind has its status here and nowhere else; every message
/// says what to fix (or, for a fault of ours, where to look).
#[derive(Debug)]
pub enum ApiError {
    /// 400: a parameter or body the API cannot take.
    BadRequest(String),
    /// 401: no token, or one that is forged, expired or not ours.
    Unauthorized(String),
    /// 403: the token's role cannot do this, or the origin is not allowed.
    Forbidden(String),
    /// 404: nothing of the tenant's by that id.
    NotFound(String),
    /// 408: the body did not arrive in time (the connection is closed).
    RequestTimeout(String),
    /// 413: the body is larger than the API takes (the connection is closed).
    PayloadTooLarge(String),
    /// 429: the tenant is past its share; it may ask again after `retry_after_s`.
    TooManyRequests { message: String, retry_after_s: u64 },
    /// 503: the server is past its capacity or a query past its budget; again after `retry_after_s`.
    Unavailable { message: String, retry_after_s: u64 },
    /// 502: the edge could not be reached or refused.
    BadGateway(String),
    /// 500: a fault of ours, logged where it happened.
    Internal,
}

impl ApiError {
    /// 400 Bad Request (a function, for `map_err`).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(message.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the answer's `error` says.
    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::RequestTimeout(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::BadGateway(m)
            | ApiError::TooManyRequests { message: m, .. }
            | ApiError::Unavailable { message: m, .. } => m,
            ApiError::Internal => "internal error; see the server log",
        }
    }

    fn retry_after_s(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after_s, .. }
            | ApiError::Unavailable { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

impl From<PullError> for ApiError {
    fn from(e: PullError) -> ApiError {
        tracing::error!(error = %e, "request failed");
        match e {
            PullError::Lake(lake) => ApiError::BadGateway(format!("edge: {lake}")),
            _ => ApiError::Internal,
        }
    }
}

impl From<crate::store::readers::ReadError> for ApiError {
    fn from(e: crate::store::readers::ReadError) -> ApiError {
        use crate::store::readers::ReadError;
        let retry_after_s = e.retry_after_s().unwrap_or(1);
        match &e {
            ReadError::TenantBusy { .. } => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after_s,
            },
            ReadError::Overloaded { .. } | ReadError::OverBudget { .. } => ApiError::Unavailable {
                message: e.to_string(),
                retry_after_s,
            },
            ReadError::Store(_) | ReadError::TaskFailed(_) => {
                tracing::error!(error = %e, "read failed");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status(), Json(json!({ "error": self.message() }))).into_response();
        if let Some(seconds) = self.retry_after_s() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        if matches!(
            self,
            ApiError::RequestTimeout(_) | ApiError::PayloadTooLarge(_)
        ) {
            // The rest of the body is not read: the connection cannot carry another request.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// The verified claims of the request's bearer token.
pub struct Auth(pub Claims);

/// Claims the cache layer verified already (request extension, set only by [`cache::cached`]).
#[derive(Clone)]
pub(crate) struct Verified(pub(crate) Claims);

impl Auth {
    /// Refuses tokens without the admin role.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this needs a token with the admin role".into(),
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
        if let Some(Verified(claims)) = parts.extensions.remove::<Verified>() {
            return Ok(Auth(claims));
        }
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("missing token: send `Authorization: Bearer <JWT>`".into())
            })?;
        let claims = state
            .tokens
            .verify(token.trim(), crate::clock::now_ms() / 1000)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        Ok(Auth(claims))
    }
}

pub use dashboard::dev_token_router;
pub use keys::issue_key as issue_key_for_cli;
