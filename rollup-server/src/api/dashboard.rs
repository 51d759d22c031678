//! The dashboard: a static single-page app (`rollup-server/dashboard/`: plain HTML, CSS, JS modules
//! and hand-drawn SVG charts) built into the binary and served at `/` and `/assets/{file}`. It signs
//! in with a JWT kept in the tab's sessionStorage and reads everything through the query API, so it
//! has no access of its own and loads nothing from any other origin.
//!
//! `GET /dashboard/dev-token` (the token that fills in the sign-in field) exists only when
//! `serve --dev-token-file` is given, which `make dev` does; production never sets it.

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

/// One file of the app.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The page itself (`GET /`).
const INDEX_HTML: &str = include_str!("../../dashboard/index.html");

/// An asset from `rollup-server/dashboard/`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../../dashboard/", $name)),
        }
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Everything under `/assets/`.
const ASSETS: &[Asset] = &[
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("charts.js", JAVASCRIPT),
    asset!("format.js", JAVASCRIPT),
    asset!("keys.js", JAVASCRIPT),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// Scripts, styles, images and API calls from this origin only; no inline script or style, no
/// framing, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every dashboard answer carries.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // The assets change with the binary: revalidate rather than run a stale app.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`.
async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
}

/// `GET /assets/{file}`.
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response(),
        None => (StatusCode::NOT_FOUND, "no such dashboard asset").into_response(),
    }
}

/// The dashboard's routes: `/` and `/assets/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// `GET /dashboard/dev-token` → `{"token": "..."}`, for local development only: the dashboard fills
/// its sign-in field with it. Only merged when `serve --dev-token-file` is given.
///
/// Only to requests whose `Host` is a loopback name or address: a web page elsewhere can point its
/// own domain at 127.0.0.1 (DNS rebinding) and read what this answers, but its requests carry that
/// domain as their `Host`.
pub fn dev_token_router(token: String) -> Router {
    let body = serde_json::json!({ "token": token });
    Router::new()
        .route(
            "/dashboard/dev-token",
            get(move |headers: axum::http::HeaderMap| async move {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                if !host.is_some_and(is_loopback_host) {
                    return super::ApiError::Forbidden(
                        "the development token is only handed out to http://127.0.0.1 or http://localhost"
                            .into(),
                    )
                    .into_response();
                }
                ([(header::CACHE_CONTROL, "no-store")], Json(body.clone())).into_response()
            }),
        )
        .layer(axum::middleware::map_response(with_security_headers))
}

/// True for a `Host` header naming this machine: `localhost`, `127.0.0.0/8` or `[::1]`, with any port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_answer(app: Router, path: &str) -> Response {
        app.oneshot(
            Request::get(path)
                .body(Body::empty())
                .expect("valid request"),
        )
        .await
        .expect("infallible")
    }

    #[test]
    fn loopback_hosts_are_told_from_rebound_names() {
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.9.9.9:80",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.evil.example:3000",
            "10.0.0.1:3000",
            "[::2]:3000",
            "",
            "localhost:3000:3000",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[tokio::test]
    async fn the_dev_token_is_refused_to_a_rebound_host() {
        let app = dev_token_router("t0k".into());
        let ask = |host: &'static str| {
            let app = app.clone();
            async move {
                app.oneshot(
                    Request::get("/dashboard/dev-token")
                        .header(header::HOST, host)
                        .body(Body::empty())
                        .expect("valid request"),
                )
                .await
                .expect("infallible")
            }
        };
        let local = ask("127.0.0.1:3000").await;
        assert_eq!(local.status(), 200);
        let body = axum::body::to_bytes(local.into_body(), 1 << 16)
            .await
            .expect("body");
        assert!(String::from_utf8_lossy(&body).contains("t0k"));
        let rebound = ask("attacker.example:3000").await;
        assert_eq!(rebound.status(), 403);
        let body = axum::body::to_bytes(rebound.into_body(), 1 << 16)
            .await
            .expect("body");
        assert!(!String::from_utf8_lossy(&body).contains("t0k"));
    }

    #[tokio::test]
    async fn dashboard_answers_with_the_security_headers() {
        for path in ["/", "/assets/app.js", "/assets/style.css"] {
            let answer = get_answer(router(), path).await;
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
            let headers = answer.headers();
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
            assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        }
    }

    #[tokio::test]
    async fn unknown_assets_are_404_and_types_are_right() {
        assert_eq!(
            get_answer(router(), "/assets/nope.js").await.status(),
            StatusCode::NOT_FOUND
        );
        let page = get_answer(router(), "/").await;
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let script = get_answer(router(), "/assets/app.js").await;
        assert_eq!(
            script.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }

    /// The page loads only its own files: no inline script, nothing from another origin.
    #[test]
    fn page_has_no_inline_script_and_no_remote_resources() {
        let lower = INDEX_HTML.to_lowercase();
        assert!(!lower.contains("<script>"), "inline script");
        assert!(!lower.contains(" style="), "inline style");
        for file in std::iter::once(INDEX_HTML).chain(ASSETS.iter().map(|a| a.body)) {
            assert!(loads_nothing_remote(file));
        }
        for name in ["app.js", "style.css", "favicon.svg"] {
            assert!(INDEX_HTML.contains(&format!("/assets/{name}")), "{name}");
        }
    }

    /// URLs may appear as text (the snippet shown to users, SVG's namespace), never as a resource.
    fn loads_nothing_remote(file: &str) -> bool {
        ![
            "src=\"http",
            "href=\"http",
            "url(http",
            "import(\"http",
            "from \"http",
        ]
        .iter()
        .any(|p| file.contains(p))
    }

    #[tokio::test]
    async fn dev_token_is_served_only_by_its_own_router() {
        let plain = get_answer(router(), "/dashboard/dev-token").await;
        assert_eq!(plain.status(), StatusCode::NOT_FOUND);
        let dev = dev_token_router("t0k".into())
            .oneshot(
                Request::get("/dashboard/dev-token")
                    .header(header::HOST, "localhost:3000")
                    .body(Body::empty())
                    .expect("valid request"),
            )
            .await
            .expect("infallible");
        assert_eq!(dev.status(), StatusCode::OK);
        assert_eq!(dev.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(dev.into_body(), 1 << 16)
            .await
            .expect("body");
        assert_eq!(body.as_ref(), br#"{"token":"t0k"}"#);
    }
}
