//! Security of the query side, through HTTP against a running server on a generated two-tenant
//! dataset whose ids overlap (both tenants have `content-0001`) or name their tenant (viewer ids):
//! every query route answers tenant A's token with A's data only, even when asked for B's ids; tokens
//! with a wrong signature, `alg: none`, an expiry in the past or no tenant are refused with 401; values
//! that look like SQL stay data; a tenant cannot see or revoke another's keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use lake_gen::Config;
use pipeline_tests::{dev_vars, rollup_cli, GeneratedLake};
use serde_json::{json, Value};

fn jwt(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn no_query_route_answers_with_another_tenants_data_or_to_a_bad_token() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 3,
        tenants: vec!["acme".into(), "globex".into()],
        events: 20_000,
        days: 5,
        now_ms,
        contents: 4,
        viewers: 60,
        object_events: 500,
        keep_truth: true,
        store_user_agent: vec!["globex".into()],
    });
    let (generated, now_ms, db) = (&fixture.generated, fixture.now_ms, &fixture.db);
    fixture.ingest();
    let server = fixture.serve();
    let base = server.base_url.clone();
    let http = reqwest::blocking::Client::new();
    let acme = rollup_cli(db, &["token", "--tenant", "acme", "--role", "admin"]);
    let globex = rollup_cli(db, &["token", "--tenant", "globex", "--role", "admin"]);
    let get = |path: &str, token: &str| {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .header("cache-control", "no-cache")
            .send()
            .expect("request");
        (r.status().as_u16(), r.text().unwrap_or_default())
    };

    // Every query route, asked by acme with globex's ids: only acme's data, never a globex id.
    let globex_viewer = generated
        .truth
        .iter()
        .find(|v| v.tenant_id == "globex")
        .map(|v| v.viewer_id.clone())
        .expect("a globex viewer");
    let from_s = (now_ms - 6 * 86_400_000) / 1000;
    let routes = [
        "/data/views/query?breakdownBy[]=viewerId&breakdownBy[]=playbackId".to_string(),
        "/data/views/query?playbackId=content-0001&breakdownBy[]=viewerId".to_string(),
        format!("/data/views/query?viewerId={globex_viewer}"),
        "/data/views/query/creator?breakdownBy[]=viewerId".to_string(),
        "/data/views/query/total/content-0001".to_string(),
        "/data/views/now?breakdownBy[]=playbackId".to_string(),
        "/api/v1/concurrency?playbackId=content-0001&timeStep=day".to_string(),
        format!("/api/v1/plays?from={from_s}&identifier=content-0001&interval=1%20day"),
        format!("/api/v1/engagement?from={from_s}&identifier=content-0001&ranges=10"),
        format!("/api/v1/sources?from={from_s}&interval=1%20day"),
        "/api/v1/views/by-content".to_string(),
        "/api/v1/keys".to_string(),
    ];
    for route in &routes {
        let (status, body) = get(route, &acme);
        assert_eq!(status, 200, "{route}: {body}");
        assert!(
            !body.contains("globex"),
            "{route} leaked globex data: {body}"
        );
    }
    // The same through the cache, as dashboards read: globex asks first (its answer is kept under
    // globex), then acme asks the same URL twice. Acme gets its own answer, computed (a miss) and
    // then kept (a hit), never globex's.
    let cached = |path: &str, token: &str| {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .expect("request");
        let cache = r
            .headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (r.status().as_u16(), cache, r.text().unwrap_or_default())
    };
    let mut hits = 0;
    for route in routes.iter().filter(|r| !r.starts_with("/data/views/now")) {
        let (status, _, globex_answer) = cached(route, &globex);
        assert_eq!(status, 200, "{route}: {globex_answer}");
        let (_, fresh) = get(route, &acme);
        for _ in 0..2 {
            let (status, cache, body) = cached(route, &acme);
            assert_eq!(status, 200, "{route}: {body}");
            assert_eq!(
                body, fresh,
                "{route} through the cache ({cache}) is acme's answer"
            );
            assert!(
                !body.contains("globex"),
                "{route} leaked globex data through the cache: {body}"
            );
            hits += usize::from(cache == "hit");
        }
        if globex_answer.contains("globex") {
            assert_ne!(globex_answer, fresh, "{route}: the tenants' answers differ");
        }
    }
    assert!(
        hits >= routes.len() - 2,
        "the second asks were cache hits: {hits}"
    );
    let (_, filtered) = get(
        &format!("/data/views/query?viewerId={globex_viewer}"),
        &acme,
    );
    assert_eq!(filtered, "[]", "another tenant's viewer id matches nothing");
    let acme_views = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "acme" && v.content_id == "content-0001")
        .count() as i64;
    let (_, total) = get("/data/views/query/total/content-0001", &acme);
    let total: Value = serde_json::from_str(&total).expect("JSON");
    assert_eq!(
        total["viewCount"],
        json!(acme_views),
        "shared content id, acme's views only"
    );

    // Keys: globex's key is invisible to acme and cannot be revoked by acme.
    let created: Value = http
        .post(format!("{base}/api/v1/keys"))
        .bearer_auth(&globex)
        .json(&json!({"name": "globex web"}))
        .send()
        .and_then(|r| r.json())
        .expect("create");
    let key_id = created["key_id"].as_str().expect("key id").to_string();
    let (_, keys) = get("/api/v1/keys", &acme);
    assert!(!keys.contains(&key_id), "acme lists globex's key: {keys}");
    let revoke = http
        .delete(format!("{base}/api/v1/keys/{key_id}"))
        .bearer_auth(&acme)
        .send()
        .expect("revoke");
    assert_eq!(
        revoke.status().as_u16(),
        404,
        "acme cannot revoke globex's key"
    );
    let (_, globex_keys) = get("/api/v1/keys", &globex);
    let listed: Value = serde_json::from_str(&globex_keys).expect("JSON");
    assert!(
        listed["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["key_id"] == json!(key_id) && k["disabled_at"].is_null()),
        "globex's key is still live: {globex_keys}"
    );

    // Bad tokens on every query route: 401 with a message, whatever the route.
    let secret = dev_vars()
        .get("JWT_SECRET")
        .cloned()
        .expect("JWT_SECRET in .dev.vars");
    let now_s = now_ms / 1000;
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let good_claims = json!({"tenant": "acme", "role": "admin", "iat": now_s, "exp": now_s + 600});
    let mut forged = acme.clone();
    let last = forged
        .pop()
        .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
    forged.push(last);
    let bad_tokens = [
        ("wrong signature", forged),
        ("other secret", jwt(b"not-the-secret", &hs256, &good_claims)),
        ("alg none", {
            let t = jwt(
                secret.as_bytes(),
                &json!({"alg": "none", "typ": "JWT"}),
                &good_claims,
            );
            format!(
                "{}.",
                t.rsplit_once('.').map_or(t.as_str(), |(head, _)| head)
            )
        }),
        (
            "expired",
            jwt(
                secret.as_bytes(),
                &hs256,
                &json!({"tenant": "acme", "role": "admin", "iat": now_s - 7200, "exp": now_s - 3600}),
            ),
        ),
        (
            "no tenant",
            jwt(
                secret.as_bytes(),
                &hs256,
                &json!({"role": "admin", "iat": now_s, "exp": now_s + 600}),
            ),
        ),
        ("not a JWT", "hello".to_string()),
        (
            "valid only from next year (nbf)",
            jwt(
                secret.as_bytes(),
                &hs256,
                &json!({"tenant": "acme", "role": "admin", "iat": now_s, "nbf": now_s + 31_536_000,
                        "exp": now_s + 31_536_600}),
            ),
        ),
        (
            "issued next year (iat)",
            jwt(
                secret.as_bytes(),
                &hs256,
                &json!({"tenant": "acme", "role": "admin", "iat": now_s + 31_536_000,
                        "exp": now_s + 31_536_600}),
            ),
        ),
        (
            "a hundred years long",
            jwt(
                secret.as_bytes(),
                &hs256,
                &json!({"tenant": "acme", "role": "admin", "iat": now_s,
                        "exp": now_s + 100 * 31_536_000}),
            ),
        ),
    ];
    assert_eq!(
        get(&routes[0], &jwt(secret.as_bytes(), &hs256, &good_claims)).0,
        200,
        "a good token works"
    );
    for (why, token) in &bad_tokens {
        for route in &routes {
            let (status, body) = get(route, token);
            assert_eq!(status, 401, "{why} on {route}: {body}");
            assert!(
                body.contains("\"error\""),
                "{why} on {route}: a message says why"
            );
        }
    }

    // Values that look like SQL stay data; names that are not dimensions are refused.
    let (status, body) = get(
        "/data/views/query?playbackId=x%27%20OR%20%271%27%3D%271",
        &acme,
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    let (status, body) = get(
        "/api/v1/plays?query=%7B%22plan%22%3A%22x%27%20OR%201%3D1%20--%22%7D",
        &acme,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON")["views"],
        json!([])
    );
    let (status, body) = get(
        "/data/views/query?breakdownBy[]=country%3B%20DROP%20TABLE%20views",
        &acme,
    );
    assert_eq!(status, 400, "{body}");
    let (_, after) = get("/data/views/query", &acme);
    let after: Value = serde_json::from_str(&after).expect("JSON");
    let acme_total = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "acme")
        .count() as i64;
    assert_eq!(
        after[0]["viewCount"],
        json!(acme_total),
        "the data is intact"
    );
    drop(server);
}

/// One raw HTTP/1.1 GET with the given Host header; the status code.
fn status_with_host(port: u16, path: &str, host: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn the_demo_server_serves_only_the_demo_and_the_sdk_and_only_to_loopback_hosts() {
    let port = pipeline_tests::free_port();
    let mut server = std::process::Command::new("python3")
        .arg(pipeline_tests::repo_root().join("scripts/demo-server.py"))
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 scripts/demo-server.py");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let local = format!("127.0.0.1:{port}");
    let checks = [
        ("/demo/index.html", local.as_str(), 200),
        ("/wasm-sdk/js/tapemetric.js", "localhost", 200),
        ("/demo/index.html", "[::1]:8080", 200),
        // What a page that rebound its own name to 127.0.0.1 would ask for.
        ("/demo/index.html", "attacker.example", 403),
        ("/.dev.vars", "attacker.example:8080", 403),
        ("/demo/index.html", "127.0.0.1.attacker.example", 403),
        // The repository beyond the two folders.
        ("/.dev.vars", local.as_str(), 404),
        ("/demo/../.dev.vars", local.as_str(), 404),
        ("/demo/%2e%2e/.dev.vars", local.as_str(), 404),
        ("/Cargo.toml", local.as_str(), 404),
        ("/wasm-sdk/", local.as_str(), 404),
        ("/wasm-sdk/src/lib.rs", local.as_str(), 404),
    ];
    let got: Vec<(&str, &str, u16)> = checks
        .iter()
        .map(|(path, host, _)| (*path, *host, status_with_host(port, path, host)))
        .collect();
    let _ = server.kill();
    let _ = server.wait();
    let expected: Vec<(&str, &str, u16)> = checks.to_vec();
    assert_eq!(got, expected);
}
