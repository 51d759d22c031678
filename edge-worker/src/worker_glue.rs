//! HTTP routes of the worker: thin glue between workers-rs and the pure ingest core.
//!
//! Public (API key, with CORS): `POST /v1/events`, `GET|POST /v1/collect`, their `OPTIONS` preflights,
//! and `GET /health`.
//! Export (export secret, for the rollup server): `POST /internal/flush`, `GET /internal/objects`,
//! `GET /internal/object?key=`, `POST /internal/key-policies`; no CORS, so no web page can read them.

use crate::buffer::{refusal, AppendRequest, BUFFER_BINDING};
use crate::ingest::{self, RequestContext};
use crate::user_agent::{UaCache, UaClassifier, UAP_CORE_REGEXES, UA_CACHE_ENTRIES};
use event_schema::api_key::{constant_time_eq, ApiKey, ApiKeyVerifier};
use event_schema::key_policy::request_origin;
use event_schema::{limits, BatchError, GeoFields, UserAgentFields};
use serde::Serialize;
use serde_json::json;
use std::cell::RefCell;
use worker::*;

thread_local! {
    /// The uap-core parser and its cache, built once per isolate at module start.
    static USER_AGENTS: RefCell<Option<(UaClassifier, UaCache)>> = const { RefCell::new(None) };
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    // Building the parser costs 70-360 ms: do it at module start, off any request's CPU budget.
    USER_AGENTS.with(|cell| {
        if let Ok(classifier) = UaClassifier::from_yaml(UAP_CORE_REGEXES) {
            *cell.borrow_mut() = Some((classifier, UaCache::new(UA_CACHE_ENTRIES)));
        }
    });
}

/// Why a request was not taken, answered as `{"error": "...", "details": ...}`. Each kind has its
/// status here and nowhere else; every message says what to fix, or that nothing was stored.
enum ApiError {
    /// 400: a body or parameter the edge cannot take.
    BadRequest(String),
    /// 400: no event of the batch was valid; `details` lists why, event by event.
    NoValidEvent(serde_json::Value),
    /// 401: no API key, or a forged or revoked one; export routes without their secret.
    Unauthorized(String),
    /// 403: the key does not take events from this origin.
    Forbidden(String),
    /// 404: no such route or object.
    NotFound(String),
    /// 405: a known route with another method.
    MethodNotAllowed(String),
    /// 408: the body did not arrive in time.
    RequestTimeout(String),
    /// 413: the body is larger than the edge takes.
    PayloadTooLarge(String),
    /// 429: the key is past its rate limit; again after `retry_after_s`.
    TooManyRequests {
        message: String,
        retry_after_s: Option<u64>,
    },
    /// 503: nothing was stored (a buffer or the lake could not take it); retry later.
    Unavailable(String),
    /// 500: a fault of ours, logged where it happened; nothing was stored.
    Internal(&'static str),
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(message.into())
    }
    fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(message.into())
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::NotFound(message.into())
    }
    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(message.into())
    }
    fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::MethodNotAllowed(message.into())
    }
    fn request_timeout(message: impl Into<String>) -> ApiError {
        ApiError::RequestTimeout(message.into())
    }
    fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::Unavailable(message.into())
    }

    fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) | ApiError::NoValidEvent(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::RequestTimeout(_) => 408,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    fn into_response(self) -> Result<Response> {
        let status = self.status();
        let (message, details, retry_after_s) = match self {
            ApiError::NoValidEvent(details) => (
                "no event in the batch is valid; see `details`".to_string(),
                Some(details),
                None,
            ),
            ApiError::TooManyRequests {
                message,
                retry_after_s,
            } => (message, None, retry_after_s),
            ApiError::Internal(message) => (message.to_string(), None, None),
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::MethodNotAllowed(m)
            | ApiError::RequestTimeout(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::Unavailable(m) => (m, None, None),
        };
        let mut body = json!({ "error": message });
        if let Some(details) = details {
            body["details"] = details;
        }
        let mut response = Response::from_json(&body)?.with_status(status);
        if let Some(wait_s) = retry_after_s {
            response
                .headers_mut()
                .set("Retry-After", &wait_s.to_string())?;
        }
        Ok(response)
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        console_error!("internal error: {e}");
        ApiError::Internal("internal error; the request was not stored, retry it")
    }
}

impl From<BatchError> for ApiError {
    fn from(e: BatchError) -> ApiError {
        if matches!(e, BatchError::TooLarge(_)) {
            ApiError::PayloadTooLarge(e.to_string())
        } else {
            ApiError::BadRequest(e.to_string())
        }
    }
}

type ApiResult = std::result::Result<Response, ApiError>;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // Only the public routes answer browsers: the export routes are for the rollup server.
    let public = is_public(&req.path());
    let response = match route(req, &env).await {
        Ok(response) => response,
        Err(error) => error.into_response()?,
    };
    if public {
        with_cors(response)
    } else {
        Ok(response)
    }
}

/// The routes a web page may call (with CORS).
fn is_public(path: &str) -> bool {
    matches!(path, "/v1/events" | "/v1/collect" | "/health")
}

fn with_cors(mut response: Response) -> Result<Response> {
    let headers = response.headers_mut();
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
    headers.set(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Content-Encoding",
    )?;
    headers.set("Access-Control-Expose-Headers", "Retry-After")?;
    headers.set("Access-Control-Max-Age", "86400")?;
    Ok(response)
}

async fn route(req: Request, env: &Env) -> ApiResult {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Options, p) if is_public(p) => Ok(Response::empty()?.with_status(204)),
        (Method::Get, "/health") => Ok(Response::ok("ok")?),
        (Method::Post, "/v1/events") => post_events(req, env).await,
        (Method::Get | Method::Post, "/v1/collect") => collect_raw(req, env).await,
        (Method::Post, "/internal/flush") => {
            authorize_export(&req, env)?;
            flush_all(env).await
        }
        (Method::Get, "/internal/objects") => {
            authorize_export(&req, env)?;
            list_objects(&req, env).await
        }
        (Method::Get, "/internal/object") => {
            authorize_export(&req, env)?;
            get_object(&req, env).await
        }
        (Method::Post, "/internal/faults")
            if config(env, "DEV_FAULTS").as_deref() == Some("true") =>
        {
            authorize_export(&req, env)?;
            inject_faults(req, env).await
        }
        (Method::Post, "/internal/key-policies") => {
            authorize_export(&req, env)?;
            set_key_policies(req, env).await
        }
        (_, "/v1/events" | "/v1/collect") => Err(ApiError::method_not_allowed(
            "method not allowed: use POST /v1/events or GET|POST /v1/collect",
        )),
        _ => Err(ApiError::not_found(format!("no route for {path}"))),
    }
}

fn config(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.is_empty())
}

fn required_config(env: &Env, name: &str) -> std::result::Result<String, ApiError> {
    config(env, name).ok_or_else(|| {
        console_error!("{name} is not configured (set it with `wrangler secret put {name}`)");
        ApiError::Internal("the worker is not configured; see its logs")
    })
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

/// A random UUID v4 (the platform's CSPRNG, `crypto.getRandomValues`).
fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The API key from `Authorization: Bearer` or, for `sendBeacon` and raw URLs, `?key=`.
fn authenticate(req: &Request, env: &Env) -> std::result::Result<ApiKey, ApiError> {
    let from_header = req
        .headers()
        .get("Authorization")?
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
    let from_query = || {
        req.url()
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.into_owned())
    };
    let Some(presented) = from_header.or_else(from_query) else {
        return Err(ApiError::unauthorized(
            "missing API key: send `Authorization: Bearer <key>` or `?key=<key>`",
        ));
    };
    let secret = required_config(env, "API_KEY_SECRET")?;
    ApiKeyVerifier::new(secret.as_bytes())
        .verify(presented.trim())
        .map_err(|e| ApiError::unauthorized(e.to_string()))
}

fn authorize_export(req: &Request, env: &Env) -> std::result::Result<(), ApiError> {
    let secret = required_config(env, "EXPORT_SECRET")?;
    let presented = req.headers().get("Authorization")?.unwrap_or_default();
    let expected = format!("Bearer {secret}");
    let same = constant_time_eq(presented.as_bytes(), expected.as_bytes());
    if same {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "export routes need the export secret",
        ))
    }
}

fn request_context(req: &Request, env: &Env, key: ApiKey) -> Result<RequestContext> {
    let ua_string = req.headers().get("User-Agent")?.unwrap_or_default();
    let user_agent = USER_AGENTS.with(|cell| match cell.borrow_mut().as_mut() {
        Some((classifier, cache)) => cache.get_or_classify(classifier, &ua_string),
        None => UserAgentFields::default(),
    });
    Ok(RequestContext {
        key,
        received_at: now_ms(),
        user_agent,
        geo: geo(req, env)?,
    })
}

/// Geo from `request.cf`; absent `cf` (some local runs) gives empty fields. A dev-only header
/// overrides it when `DEV_GEO_OVERRIDE=true`, which production never sets.
fn geo(req: &Request, env: &Env) -> Result<GeoFields> {
    if config(env, "DEV_GEO_OVERRIDE").as_deref() == Some("true") {
        if let Some(value) = req.headers().get("X-Tapemetric-Dev-Geo")? {
            return Ok(ingest::geo_from_dev_header(&value));
        }
    }
    Ok(match req.cf() {
        Some(cf) => GeoFields {
            continent: cf.continent(),
            country: cf.country(),
            subdivision: cf.region(),
            city: cf.city(),
            timezone: Some(cf.timezone_name()).filter(|t| !t.is_empty()),
            colo: Some(cf.colo()).filter(|c| !c.is_empty()),
        },
        None => GeoFields::default(),
    })
}

/// How long a client may take to send a body, whole.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn read_body(req: &mut Request) -> std::result::Result<Vec<u8>, ApiError> {
    if let Some(length) = req.headers().get("Content-Length")? {
        if let Ok(length) = length.parse::<usize>() {
            if length > limits::MAX_BODY_BYTES {
                return Err(BatchError::TooLarge(length).into());
            }
        }
    }
    let body = {
        let read = std::pin::pin!(req.bytes());
        let deadline = std::pin::pin!(worker::Delay::from(BODY_READ_TIMEOUT));
        match futures_util::future::select(read, deadline).await {
            futures_util::future::Either::Left((body, _)) => body?,
            futures_util::future::Either::Right(_) => {
                return Err(ApiError::request_timeout(format!(
                    "the request body took longer than {} s to arrive; nothing of it was stored",
                    BODY_READ_TIMEOUT.as_secs()
                )))
            }
        }
    };
    if body.len() > limits::MAX_BODY_BYTES {
        return Err(BatchError::TooLarge(body.len()).into());
    }
    let gzipped = req
        .headers()
        .get("Content-Encoding")?
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    Ok(if gzipped {
        ingest::gunzip_body(&body)?
    } else {
        body
    })
}

async fn post_events(mut req: Request, env: &Env) -> ApiResult {
    let key = authenticate(&req, env)?;
    let body = read_body(&mut req).await?;
    let context = request_context(&req, env, key)?;
    let outcome = ingest::ingest_batch(&body, &context, new_uuid)?;
    let receipt = outcome.receipt();
    if outcome.stored.is_empty() {
        let error =
            ApiError::NoValidEvent(serde_json::to_value(&receipt.rejected).unwrap_or_default());
        return Err(error);
    }
    buffer_events(&req, env, &context.key, &outcome.stored).await?;
    Ok(Response::from_json(&receipt)?.with_status(202))
}

async fn collect_raw(req: Request, env: &Env) -> ApiResult {
    let key = authenticate(&req, env)?;
    let url = req.url()?;
    let params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "key")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let context = request_context(&req, env, key)?;
    let stored = ingest::ingest_raw_url(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &context,
        new_uuid,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let eid = stored.event.eid.clone();
    buffer_events(&req, env, &context.key, std::slice::from_ref(&stored)).await?;
    let mut response = Response::ok(eid)?;
    response
        .headers_mut()
        .set("Content-Type", "text/plain; charset=utf-8")?;
    Ok(response)
}

fn shard_count(env: &Env) -> u32 {
    config(env, "BUFFER_SHARDS")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// The buffer shard of a tenant: FNV-1a of the tenant id, so one tenant always lands on one shard.
fn shard_of(tenant_id: &str, shards: u32) -> u32 {
    let hash = tenant_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % shards
}

fn shard_stub(env: &Env, shard: u32) -> Result<Stub> {
    env.durable_object(BUFFER_BINDING)?
        .id_from_name(&format!("buffer-{shard}"))?
        .get_stub()
}

async fn call_shard(env: &Env, shard: u32, path: &str, body: String) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init(&format!("https://buffer{path}"), &init)?;
    shard_stub(env, shard)?.fetch_with_request(request).await
}

/// Hands events to the tenant's buffer shard; returns once they are durable there.
async fn buffer_events(
    req: &Request,
    env: &Env,
    key: &ApiKey,
    events: &[event_schema::StoredEvent],
) -> std::result::Result<(), ApiError> {
    let origin = request_origin(
        req.headers().get("Origin")?.as_deref(),
        req.headers().get("Referer")?.as_deref(),
    );
    let append = AppendRequest {
        tenant_id: key.tenant_id.clone(),
        key_id: key.key_id.clone(),
        events: events.len(),
        ndjson: ingest::to_ndjson(events),
        origin,
        user_agent: req.headers().get("User-Agent")?,
    };
    let body =
        serde_json::to_string(&append).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let shard = shard_of(&key.tenant_id, shard_count(env));
    let mut response = call_shard(env, shard, "/append", body).await?;
    match response.status_code() {
        200 => Ok(()),
        refusal::REVOKED => Err(ApiError::unauthorized("API key has been revoked")),
        refusal::ORIGIN => Err(ApiError::forbidden(
            "this API key only accepts events from its allowed origins",
        )),
        refusal::RATE_LIMITED => {
            let wait_s = response.text().await.unwrap_or_else(|_| "1".into());
            Err(ApiError::TooManyRequests {
                message: format!("rate limit of this API key exceeded; retry in {wait_s} s"),
                retry_after_s: wait_s.trim().parse().ok(),
            })
        }
        status => {
            let text = response.text().await.unwrap_or_default();
            console_error!("buffer shard {shard} answered {status}: {text}");
            Err(ApiError::unavailable(
                "events could not be stored; retry later",
            ))
        }
    }
}

#[derive(Serialize, Default)]
struct FlushReport {
    objects: u64,
    events: u64,
}

async fn flush_all(env: &Env) -> ApiResult {
    let mut report = FlushReport::default();
    for shard in 0..shard_count(env) {
        let mut response = call_shard(env, shard, "/flush", String::new()).await?;
        if response.status_code() != 200 {
            let text = response.text().await.unwrap_or_default();
            return Err(ApiError::unavailable(format!(
                "flush of shard {shard} failed: {text}"
            )));
        }
        let shard_report: serde_json::Value = response.json().await?;
        report.objects += shard_report["objects"].as_u64().unwrap_or(0);
        report.events += shard_report["events"].as_u64().unwrap_or(0);
    }
    Ok(Response::from_json(&report)?)
}

/// Dev-only (`DEV_FAULTS=true`, never set in production; without it the route does not exist):
/// arms faults in every shard, to test that a failed flush loses nothing and counts nothing twice.
/// Body: `{"r2_write_failures": n, "interrupted_flushes": n, "r2_write_delays": n, "r2_delay_ms": ms}`
/// (the next n R2 writes fail; the next n flushes stop after their R2 write and before deleting
/// their rows; the next n R2 writes start `ms` late, and so outlast the write timeout when `ms` is
/// longer).
async fn inject_faults(mut req: Request, env: &Env) -> ApiResult {
    let body = req.text().await?;
    for shard in 0..shard_count(env) {
        call_shard(env, shard, "/faults", body.clone()).await?;
    }
    Ok(Response::from_json(&json!({"shards": shard_count(env)}))?)
}

async fn set_key_policies(mut req: Request, env: &Env) -> ApiResult {
    let body = req.text().await?;
    for shard in 0..shard_count(env) {
        let response = call_shard(env, shard, "/key-policies", body.clone()).await?;
        if response.status_code() != 200 {
            return Err(ApiError::bad_request(
                "key policies refused: expected {\"revoked\":[...],\"keys\":[...]}",
            ));
        }
    }
    Ok(Response::from_json(&json!({"shards": shard_count(env)}))?)
}

#[derive(Serialize)]
struct ListedObject {
    key: String,
    size: u64,
    uploaded_ms: i64,
}

async fn list_objects(req: &Request, env: &Env) -> ApiResult {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let limit = param("limit")
        .and_then(|l| l.parse::<u32>().ok())
        .unwrap_or(1000)
        .clamp(1, 1000);
    let bucket = env.bucket("EVENTS")?;
    let mut listing = bucket
        .list()
        .prefix(event_schema::batch_key::LAKE_PREFIX)
        .limit(limit);
    if let Some(start_after) = param("start_after") {
        listing = listing.start_after(start_after);
    }
    if let Some(cursor) = param("cursor") {
        listing = listing.cursor(cursor);
    }
    let objects = listing.execute().await?;
    let listed: Vec<ListedObject> = objects
        .objects()
        .iter()
        .map(|o| ListedObject {
            key: o.key(),
            size: o.size(),
            uploaded_ms: o.uploaded().as_millis() as i64,
        })
        .collect();
    Ok(Response::from_json(&json!({
        "objects": listed,
        "truncated": objects.truncated(),
        "cursor": objects.cursor(),
    }))?)
}

async fn get_object(req: &Request, env: &Env) -> ApiResult {
    let url = req.url()?;
    let Some(key) = url
        .query_pairs()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
    else {
        return Err(ApiError::bad_request("`key` is required"));
    };
    let bucket = env.bucket("EVENTS")?;
    let Some(object) = bucket.get(key.clone()).execute().await? else {
        return Err(ApiError::not_found(format!("no object `{key}`")));
    };
    let Some(body) = object.body() else {
        return Err(ApiError::not_found(format!("object `{key}` has no body")));
    };
    // Streamed by the runtime: the worker never holds the object whole.
    let mut response = Response::from_body(body.response_body()?)?;
    response
        .headers_mut()
        .set("Content-Type", "application/gzip")?;
    Ok(response)
}
