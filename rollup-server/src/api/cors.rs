//! CORS for configured dashboard origins (`--cors-origins`), so that external dashboards (Grafana's
//! JSON/Infinity data sources, a team's own pages) can poll the API from a browser. Tokens travel in the
//! `Authorization` header, never in cookies, so no credentials mode is offered.

use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use event_schema::key_policy::normalize_origin;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_S: &str = "600";

/// The origins allowed to call the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins {
    any: bool,
    origins: Vec<String>,
}

impl CorsOrigins {
    /// Parses origins such as `https://grafana.example.com`; `*` allows any.
    pub fn parse(list: &[String]) -> Result<CorsOrigins, String> {
        let mut allowed = CorsOrigins::default();
        for origin in list.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            if origin == "*" {
                allowed.any = true;
            } else {
                allowed
                    .origins
                    .push(normalize_origin(origin).map_err(|e| format!("--cors-origins: {e}"))?);
            }
        }
        Ok(allowed)
    }

    /// Whether a request's `Origin` may read answers.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || normalize_origin(origin).is_ok_and(|o| self.origins.contains(&o))
    }
}

/// Answers preflights and marks answers readable by allowed origins; other origins get no CORS
/// headers (the browser then withholds the answer), and their preflights a 403 that says why.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let allowed = state.cors.allows(&origin);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            return super::ApiError::Forbidden(format!(
                "origin `{origin}` is not allowed; start the server with --cors-origins {origin}"
            ))
            .into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_S),
        );
        allow(&mut response, &origin);
        return response;
    }
    let mut response = next.run(request).await;
    if allowed {
        allow(&mut response, &origin);
    }
    response
}

fn allow(response: &mut Response, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_origins_are_allowed_and_others_not() {
        let cors = CorsOrigins::parse(&["https://Grafana.example.com/".into()]).expect("valid");
        assert!(cors.allows("https://grafana.example.com"));
        assert!(!cors.allows("https://evil.example"));
        assert!(!CorsOrigins::default().allows("https://grafana.example.com"));
        assert!(CorsOrigins::parse(&["*".into()])
            .expect("any")
            .allows("http://x.test"));
        assert!(CorsOrigins::parse(&["grafana".into()]).is_err());
    }
}
