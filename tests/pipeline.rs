//! One event really travels HTTP -> edge worker (wrangler dev) -> local R2 -> rollup server -> DuckDB
//! -> query API. The processes are started once for the checks that share them ([`shared`]), which
//! run one at a time, each with its own tenant, so that any one of them runs alone
//! (`cargo test -p pipeline-tests --test pipeline cors_preflight`) and a failure hides no other.

use pipeline_tests::{rollup_cli, start_rollup_server, start_worker_with_vars, Running};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

struct Pipeline {
    worker: Running,
    server: Running,
    db: std::path::PathBuf,
    http: Client,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn json_of(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

impl Pipeline {
    /// Starts the worker (with `worker_vars`, `NAME:value`) and the rollup server, their state in
    /// `scratch` and their logs in `pipeline-logs/<name>`.
    fn start(scratch: &Path, name: &str, worker_vars: &[&str]) -> Pipeline {
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("pipeline-logs")
            .join(name);
        std::fs::create_dir_all(&logs).expect("log dir");
        let worker = start_worker_with_vars(&scratch.join("wrangler-state"), &logs, worker_vars);
        let db = scratch.join("tapemetric.duckdb");
        let server = start_rollup_server(&db, &worker.base_url, &logs);
        Pipeline {
            worker,
            server,
            db,
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    fn admin_token(&self, tenant: &str) -> String {
        rollup_cli(&self.db, &["token", "--tenant", tenant, "--role", "admin"])
    }

    fn create_key(&self, tenant: &str) -> (String, String) {
        self.create_key_with(tenant, json!({"name": "e2e"}))
    }

    fn create_key_with(&self, tenant: &str, body: Value) -> (String, String) {
        let response = self
            .http
            .post(format!("{}/api/v1/keys", self.server.base_url))
            .bearer_auth(self.admin_token(tenant))
            .json(&body)
            .send()
            .expect("create key");
        let (status, body) = json_of(response);
        assert_eq!(status, 201, "key creation: {body}");
        (
            body["key"].as_str().expect("key").to_string(),
            body["key_id"].as_str().expect("key id").to_string(),
        )
    }

    fn post_events(&self, key: &str, body: String) -> (u16, Value) {
        json_of(
            self.http
                .post(format!("{}/v1/events", self.worker.base_url))
                .bearer_auth(key)
                .header("User-Agent", CHROME_UA)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .expect("post events"),
        )
    }

    fn ingest(&self, tenant: &str) -> Value {
        let (status, body) = json_of(
            self.http
                .post(format!("{}/admin/ingest", self.server.base_url))
                .bearer_auth(self.admin_token(tenant))
                .send()
                .expect("ingest"),
        );
        assert_eq!(
            status,
            200,
            "ingest: {body}\nworker log:\n{}",
            self.worker.log_tail()
        );
        body
    }

    /// Runs `tests/browser_e2e.mjs` (headless Chromium on the demo page) with `key` and `video` and
    /// then `args` (content id, seconds, mode); what it prints.
    fn run_browser(&self, key: &str, video: &Path, args: &[&str]) -> Value {
        let output = std::process::Command::new("node")
            .current_dir(pipeline_tests::repo_root())
            .arg("tests/browser_e2e.mjs")
            .args([self.worker.base_url.as_str(), key])
            .arg(video)
            .args(args)
            .output()
            .expect("node");
        assert!(
            output.status.success(),
            "browser run {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.worker.log_tail()
        );
        serde_json::from_slice(&output.stdout).expect("the browser run prints JSON")
    }

    /// The Livepeer-style view metrics of `tenant` for `query` (`playbackId=...`), asserting a 200.
    fn view_metrics(&self, tenant: &str, query: &str) -> Value {
        let (status, rows) = json_of(
            self.http
                .get(format!("{}/data/views/query?{query}", self.server.base_url))
                .bearer_auth(self.admin_token(tenant))
                .send()
                .expect("query"),
        );
        assert_eq!(status, 200, "{rows}");
        rows
    }

    fn views_by_content(&self, token: &str) -> (u16, Value) {
        json_of(
            self.http
                .get(format!("{}/api/v1/views/by-content", self.server.base_url))
                .bearer_auth(token)
                .send()
                .expect("query"),
        )
    }
}

fn view_start(eid: &str, view: &str, content: &str) -> Value {
    json!({"type": "view_start", "ts": now_ms(), "eid": eid, "anonymous_id": "anon-1",
           "session_id": "s-1", "view_id": view, "content_id": content, "content_type": "film"})
}

fn sorted_views(body: &Value) -> Vec<(String, i64)> {
    let mut views = pipeline_tests::counts_by(&body["views"], "content_id", "views");
    views.sort();
    views
}

/// The pipeline the checks below share: started by the first one that runs, stopped when the test
/// binary ends (the harness stops its processes then). One check runs at a time; each uses its own
/// tenant, so none depends on another's data or order.
struct Shared {
    scratch: tempfile::TempDir,
    pipeline: Pipeline,
}

fn shared() -> std::sync::MutexGuard<'static, Shared> {
    static SHARED: std::sync::OnceLock<std::sync::Mutex<Shared>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let scratch = tempfile::tempdir().expect("tempdir");
            let pipeline = Pipeline::start(scratch.path(), "main", &[]);
            std::sync::Mutex::new(Shared { scratch, pipeline })
        })
        .lock()
        // A check that failed leaves the pipeline as it was: the next check goes on.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The test clip of the browser checks (made once).
fn clip(scratch: &Path) -> std::path::PathBuf {
    let video = scratch.join("clip.webm");
    if !video.exists() {
        make_video(&video, "320x180:rate=25", 20, "300k");
    }
    video
}

/// Sends `tenant` three views (two of big-buck-bunny, one of sintel; 10 s watched on the first),
/// with a rejected event beside them: the key, the batch and the edge's receipt.
fn three_views(p: &Pipeline, tenant: &str) -> (String, String, Value) {
    let (key, _) = p.create_key(tenant);
    let batch = json!({"events": [
        view_start(&format!("{tenant}-e1"), "v1", "big-buck-bunny"),
        view_start(&format!("{tenant}-e2"), "v2", "big-buck-bunny"),
        view_start(&format!("{tenant}-e3"), "v3", "sintel"),
        {"type": "heartbeat", "ts": now_ms(), "eid": format!("{tenant}-e4"), "anonymous_id": "anon-1",
         "view_id": "v1", "content_id": "big-buck-bunny", "watched_ms": 10000, "played": [[0, 10]]},
        {"type": "teleport", "ts": now_ms(), "anonymous_id": "anon-1"},
    ]})
    .to_string();
    let (status, receipt) = p.post_events(&key, batch.clone());
    assert_eq!(status, 202, "{receipt}");
    (key, batch, receipt)
}

#[test]
fn valid_batch_is_kept_beside_rejected_events_and_counted_once() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, batch, receipt) = three_views(p, "acme");
    assert_eq!(receipt["accepted"], 4);
    assert_eq!(receipt["rejected"][0]["index"], 4);
    assert!(receipt["rejected"][0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("teleport"));

    // The same batch again (a client retry): acknowledged again, stored once.
    let (status, _) = p.post_events(&key, batch.clone());
    assert_eq!(status, 202);
    let first = p.ingest("acme");
    assert_eq!(first["events_loaded"], 4, "{first}");
    assert_eq!(first["duplicates_skipped"], 4, "{first}");

    // And once more after it was loaded: nothing new, nothing doubled.
    let (status, _) = p.post_events(&key, batch);
    assert_eq!(status, 202);
    let second = p.ingest("acme");
    assert_eq!(second["events_loaded"], 0, "{second}");
    assert_eq!(second["duplicates_skipped"], 4, "{second}");

    let (status, body) = p.views_by_content(&p.admin_token("acme"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted_views(&body),
        vec![("big-buck-bunny".to_string(), 2), ("sintel".to_string(), 1)]
    );
}

/// The official `livepeer` npm SDK, pointed at the rollup server with `serverURL`, reads three views
/// (2 of big-buck-bunny, 1 of sintel, all Chrome).
#[test]
fn livepeer_sdk_reads_view_metrics_from_our_api() {
    let shared = shared();
    let p = &shared.pipeline;
    three_views(p, "livepeer-sdk");
    p.ingest("livepeer-sdk");
    let output = std::process::Command::new("node")
        .current_dir(pipeline_tests::repo_root())
        .args([
            "tests/livepeer_sdk_check.mjs",
            &p.server.base_url,
            &p.admin_token("livepeer-sdk"),
            "big-buck-bunny",
        ])
        .output()
        .expect("node");
    assert!(
        output.status.success(),
        "livepeer SDK run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("SDK output is JSON");
    let by_content: Vec<(String, String, i64)> = seen["byContent"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["playbackId"].as_str().unwrap_or("").to_string(),
                m["browser"].as_str().unwrap_or("").to_string(),
                m["viewCount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        by_content,
        vec![
            ("big-buck-bunny".to_string(), "Chrome".to_string(), 2),
            ("sintel".to_string(), "Chrome".to_string(), 1)
        ],
        "{seen}"
    );
    let daily = &seen["daily"][0];
    assert_eq!(daily["viewCount"], 2, "{seen}");
    assert!(
        daily["timestamp"]
            .as_i64()
            .is_some_and(|t| t % 86_400_000 == 0),
        "{seen}"
    );
    // One heartbeat of 10 s on view v1.
    assert!(
        (daily["playtimeMins"].as_f64().unwrap_or(0.0) - 10.0 / 60.0).abs() < 1e-6,
        "{seen}"
    );
    assert_eq!(seen["total"]["viewCount"], 2, "{seen}");
    // Realtime: the views were received seconds ago, so both contents have viewers now.
    let now: Vec<&str> = seen["now"]
        .as_array()
        .expect("realtime array")
        .iter()
        .filter_map(|m| m["playbackId"].as_str())
        .collect();
    assert!(
        now.contains(&"big-buck-bunny") && now.contains(&"sintel"),
        "{seen}"
    );
}

#[test]
fn health_and_prometheus_metrics_are_served() {
    let shared = shared();
    let p = &shared.pipeline;
    three_views(p, "metrics-check");
    p.ingest("metrics-check");
    let health = p
        .http
        .get(format!("{}/healthz", p.server.base_url))
        .send()
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let body: Value = health.json().expect("json");
    assert!(
        body["last_pull_ms"].as_i64().is_some_and(|t| t > 0),
        "{body}"
    );
    let text = p
        .http
        .get(format!("{}/metrics", p.server.base_url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    let loaded: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tapemetric_events_loaded_total "))
        .and_then(|v| v.parse().ok())
        .expect("events loaded metric");
    assert!(loaded >= 4.0, "{text}");
    assert!(
        text.contains("tapemetric_query_duration_seconds_count"),
        "{text}"
    );
    let openapi: Value = p
        .http
        .get(format!("{}/openapi.json", p.server.base_url))
        .send()
        .expect("openapi")
        .json()
        .expect("OpenAPI JSON");
    assert!(
        openapi["paths"]["/data/views/query"]["get"].is_object(),
        "{openapi}"
    );
}

/// Makes a test video (VP8 WebM) of `seconds` with ffmpeg's test pattern at `size_and_rate`.
fn make_video(path: &Path, size_and_rate: &str, seconds: u32, bitrate: &str) {
    let sdk = pipeline_tests::repo_root().join("wasm-sdk/js/pkg/wasm_sdk_bg.wasm");
    assert!(
        sdk.exists(),
        "{} is missing: run `make build-sdk` first",
        sdk.display()
    );
    let made = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size_and_rate}"))
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libvpx", "-b:v", bitrate, "-deadline", "realtime"])
        .arg(path)
        .status()
        .expect("ffmpeg (installed by scripts/setup.sh)");
    assert!(made.success(), "ffmpeg could not make the test video");
}

/// A real video (made here with ffmpeg) plays in headless Chromium on the demo page with the SDK
/// attached; after the rollup, the query API shows one view of it with its first frame reached,
/// TTFF > 0, watch time close to the seconds played, and the browser as Chrome.
#[test]
fn a_video_played_in_chromium_comes_back_as_one_view() {
    let shared = shared();
    let p = &shared.pipeline;
    let video = clip(shared.scratch.path());
    let (key, _) = p.create_key("browser-e2e");
    let run = p.run_browser(&key, &video, &["e2e-clip", "6"]);
    let played_s = run["played_s"].as_f64().expect("played seconds");
    let report = p.ingest("browser-e2e");
    assert!(
        report["events_loaded"].as_i64().unwrap_or(0) >= 4,
        "{report}"
    );
    let rows = p.view_metrics("browser-e2e", "playbackId=e2e-clip&breakdownBy[]=browser");
    let view = &rows[0];
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(view["viewCount"], 1, "{rows}");
    assert_eq!(view["exitsBeforeStart"], 0.0, "first frame reached: {rows}");
    assert!(view["ttffMs"].as_f64().is_some_and(|t| t > 0.0), "{rows}");
    let watched_s = view["playtimeMins"].as_f64().unwrap_or(0.0) * 60.0;
    assert!(
        (watched_s - played_s).abs() < 2.0,
        "watched {watched_s} s, played {played_s} s: {rows}"
    );
    let browser = view["browser"].as_str().unwrap_or("");
    assert!(
        browser.contains("Chrome") || browser.contains("Chromium"),
        "{browser} ({})",
        run["user_agent"]
    );
}

#[test]
fn forged_and_missing_keys_are_refused_with_401() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("forge-check");
    let forged = key.replace("forge-check", "someone-else");
    let body = json!({"events": [view_start("f1", "v1", "c1")]}).to_string();
    let (status, error) = p.post_events(&forged, body.clone());
    assert_eq!(status, 401, "{error}");
    assert!(error["error"].as_str().unwrap_or("").contains("signature"));
    let (status, _) = p.post_events("tmk_garbage", body.clone());
    assert_eq!(status, 401);
    let response = p
        .http
        .post(format!("{}/v1/events", p.worker.base_url))
        .body(body)
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 401);
}

#[test]
fn malformed_and_oversize_bodies_get_clear_errors() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("bad-input");
    let (status, error) = p.post_events(&key, "{\"events\": [".to_string());
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or("")
            .contains("not valid JSON"),
        "{error}"
    );
    let (status, error) = p.post_events(&key, "{\"events\": []}".to_string());
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap_or("").contains("empty"),
        "{error}"
    );
    let huge = format!(
        "{{\"events\": [], \"pad\": \"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let (status, error) = p.post_events(&key, huge);
    assert_eq!(status, 413, "{error}");
    // None of that reached the lake.
    let report = p.ingest("bad-input");
    assert_eq!(report["events_loaded"], 0, "{report}");
}

#[test]
fn raw_url_event_answers_its_eid_and_is_counted() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("raw-url");
    let url = format!(
        "{}/v1/collect?key={key}&type=view_start&eid=raw-e1&uid=visitor-1&view_id=rv1&content_id=trailer&plan=gold",
        p.worker.base_url
    );
    let response = p
        .http
        .get(url)
        .header("User-Agent", CHROME_UA)
        .send()
        .expect("collect");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().expect("body"), "raw-e1");
    // Without ids the worker makes one and answers it.
    let url = format!("{}/v1/collect?key={key}&type=page_view", p.worker.base_url);
    let generated = p
        .http
        .get(url)
        .send()
        .expect("collect")
        .text()
        .expect("body");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let report = p.ingest("raw-url");
    assert_eq!(report["events_loaded"], 2, "{report}");
    let (_, body) = p.views_by_content(&p.admin_token("raw-url"));
    assert_eq!(sorted_views(&body), vec![("trailer".to_string(), 1)]);
}

#[test]
fn every_ingest_rejection_has_its_status_and_message() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("rejections");
    let too_many = json!({"events": vec![view_start("x", "v", "c"); 501]}).to_string();
    let cases: Vec<(String, u16, &str)> = vec![
        (too_many, 400, "limit is 500"),
        ("[]".into(), 400, "`events` array"),
        ("{\"events\": 5}".into(), 400, "`events` array"),
        (
            json!({"events": [{"type": "view_start", "ts": now_ms(), "anonymous_id": "a"}]})
                .to_string(),
            400,
            "view_id",
        ),
        (
            json!({"events": [{"type": "page_view", "ts": 1, "anonymous_id": "a"}]}).to_string(),
            400,
            "7 days in the past",
        ),
        (
            json!({"events": [{"type": "page_view", "ts": now_ms(), "anonymous_id": "a b"}]})
                .to_string(),
            400,
            "URL-safe",
        ),
    ];
    for (body, status, message) in cases {
        let (got, error) = p.post_events(&key, body);
        assert_eq!(got, status, "{error}");
        assert!(
            error.to_string().contains(message),
            "expected `{message}` in {error}"
        );
    }
    let collect = |query: &str| {
        let response = p
            .http
            .get(format!("{}/v1/collect?{query}", p.worker.base_url))
            .send()
            .expect("collect");
        (
            response.status().as_u16(),
            response.text().unwrap_or_default(),
        )
    };
    let (status, text) = collect(&format!("key={key}&uid=u1"));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("`type`"), "{text}");
    let (status, _) = collect("key=tmk_rejections_k1_AAAAAAAAAAAAAAAAAAAAAA&type=page_view");
    assert_eq!(status, 401);
    let (status, text) = collect(&format!("key={key}&type=page_view&ts=soon"));
    assert_eq!(status, 400, "{text}");
    let report = p.ingest("rejections");
    assert_eq!(
        report["events_loaded"], 0,
        "nothing refused was stored: {report}"
    );
}

#[test]
fn beacon_and_gzip_bodies_are_accepted() {
    let shared = shared();
    let p = &shared.pipeline;
    use std::io::Write;
    let (key, _) = p.create_key("bodies");
    // sendBeacon: text/plain, key in the query string.
    let beacon = p
        .http
        .post(format!("{}/v1/events?key={key}", p.worker.base_url))
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(json!({"events": [view_start("b1", "vb", "beacon")]}).to_string())
        .send()
        .expect("beacon");
    assert_eq!(beacon.status().as_u16(), 202);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        json!({"events": [view_start("g1", "vg", "gzip")]})
            .to_string()
            .as_bytes(),
    )
    .expect("gzip");
    let compressed = p
        .http
        .post(format!("{}/v1/events", p.worker.base_url))
        .bearer_auth(&key)
        .header("Content-Encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .expect("gzip post");
    assert_eq!(compressed.status().as_u16(), 202);
    let (_, views) = p.views_by_content(&p.admin_token("bodies"));
    assert_eq!(views["views"], json!([]), "nothing loaded before ingest");
    p.ingest("bodies");
    let (_, views) = p.views_by_content(&p.admin_token("bodies"));
    assert_eq!(
        sorted_views(&views),
        vec![("beacon".to_string(), 1), ("gzip".to_string(), 1)]
    );
}

/// Opentracker id rules, checked downstream: the viewer of a view is its `uid`, or its `sid` when only
/// a session was given, or the event id itself when no id was given.
#[test]
fn raw_url_id_rules_hold_downstream() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("raw-ids");
    let collect = |ids: &str, view: &str| {
        let url = format!(
            "{}/v1/collect?key={key}&type=view_start&view_id={view}&content_id=ids{ids}",
            p.worker.base_url
        );
        p.http
            .get(url)
            .send()
            .expect("collect")
            .text()
            .expect("eid")
    };
    collect("&uid=visitor-9", "v-uid");
    collect("&sid=session-4", "v-sid");
    let eid = collect("", "v-none");
    collect("&uid=visitor-9&sid=session-5", "v-both");
    p.ingest("raw-ids");
    let rows = p.view_metrics("raw-ids", "breakdownBy[]=viewerId");
    let mut viewers: Vec<(String, i64)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["viewerId"].as_str().unwrap_or("").to_string(),
                r["viewCount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    viewers.sort();
    let mut expected = vec![
        ("session-4".to_string(), 1),
        ("visitor-9".to_string(), 2),
        (eid, 1),
    ];
    expected.sort();
    assert_eq!(viewers, expected);
}

/// Arms the edge's dev-only fault injection (`/internal/faults`, export secret).
fn inject_faults(p: &Pipeline, faults: Value) {
    let export_secret = pipeline_tests::dev_vars()
        .remove("EXPORT_SECRET")
        .unwrap_or_default();
    let injected = p
        .http
        .post(format!("{}/internal/faults", p.worker.base_url))
        .bearer_auth(&export_secret)
        .json(&faults)
        .send()
        .expect("faults");
    assert_eq!(injected.status().as_u16(), 200, "faults armed");
}

/// An R2 write that fails (injected through the dev-only fault route) fails the flush; the events stay
/// buffered and arrive exactly once after recovery.
#[test]
fn a_failed_r2_write_loses_nothing() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("r2-fault");
    let batch = json!({"events": [
        view_start("f1", "v1", "resilient"), view_start("f2", "v2", "resilient"), view_start("f3", "v3", "resilient"),
    ]})
    .to_string();
    assert_eq!(p.post_events(&key, batch).0, 202);
    inject_faults(p, json!({"r2_write_failures": 1}));
    let error = failed_ingest(p, "r2-fault");
    assert!(
        error["error"].as_str().unwrap_or("").contains("flush"),
        "{error}"
    );
    let recovered = p.ingest("r2-fault");
    assert_eq!(recovered["events_loaded"], 3, "{recovered}");
    let (_, views) = p.views_by_content(&p.admin_token("r2-fault"));
    assert_eq!(sorted_views(&views), vec![("resilient".to_string(), 3)]);
}

/// Asks the edge to flush and the server to pull, expecting the flush to fail: the error body.
fn failed_ingest(p: &Pipeline, tenant: &str) -> Value {
    let (status, error) = json_of(
        p.http
            .post(format!("{}/admin/ingest", p.server.base_url))
            .bearer_auth(p.admin_token(tenant))
            .send()
            .expect("ingest"),
    );
    assert_eq!(status, 502, "the failed flush is reported: {error}");
    error
}

/// A flush that stops after writing its object and before deleting the buffer's rows (a crash
/// mid-flush) writes the same events again next time: two objects, counted once.
#[test]
fn a_flush_interrupted_after_its_r2_write_counts_once() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key("mid-flush");
    let batch = json!({"events": [
        view_start("m1", "v1", "interrupted"), view_start("m2", "v2", "interrupted"), view_start("m3", "v3", "interrupted"),
    ]})
    .to_string();
    assert_eq!(p.post_events(&key, batch).0, 202);
    inject_faults(p, json!({"interrupted_flushes": 1}));
    failed_ingest(p, "mid-flush");
    // The admin ingest answers the token's tenant's figures.
    let recovered = p.ingest("mid-flush");
    assert_eq!(
        recovered["objects_loaded"], 2,
        "the object twice: {recovered}"
    );
    assert_eq!(recovered["events_loaded"], 3, "{recovered}");
    assert_eq!(recovered["duplicates_skipped"], 3, "{recovered}");
    let (_, views) = p.views_by_content(&p.admin_token("mid-flush"));
    assert_eq!(sorted_views(&views), vec![("interrupted".to_string(), 3)]);
}

/// What lands in the lake: parsed UA dimensions always, the full UA string only for opted-in keys.
#[test]
fn full_user_agents_are_stored_only_for_keys_that_opted_in() {
    let shared = shared();
    let p = &shared.pipeline;
    use std::io::Read;
    let (opted_in, _) = p.create_key_with("ua-optin", json!({"store_user_agent": true}));
    let (default_key, _) = p.create_key("ua-default");
    for (key, eid) in [(&opted_in, "ua1"), (&default_key, "ua2")] {
        let body = json!({"events": [view_start(eid, "v1", "c1")]}).to_string();
        assert_eq!(p.post_events(key, body).0, 202);
    }
    let secret = pipeline_tests::dev_vars()
        .remove("EXPORT_SECRET")
        .unwrap_or_default();
    let flushed = p
        .http
        .post(format!("{}/internal/flush", p.worker.base_url))
        .bearer_auth(&secret)
        .send()
        .expect("flush");
    assert_eq!(flushed.status().as_u16(), 200);
    let (_, listing) = json_of(
        p.http
            .get(format!("{}/internal/objects", p.worker.base_url))
            .bearer_auth(&secret)
            .send()
            .expect("list"),
    );
    let lines_of = |tenant: &str| -> Vec<Value> {
        let mut lines = Vec::new();
        for object in listing["objects"].as_array().expect("objects") {
            let key = object["key"].as_str().unwrap_or("");
            if !key.contains(&format!("/tenant={tenant}/")) {
                continue;
            }
            let bytes = p
                .http
                .get(format!("{}/internal/object", p.worker.base_url))
                .query(&[("key", key)])
                .bearer_auth(&secret)
                .send()
                .expect("object")
                .bytes()
                .expect("body");
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gzip NDJSON");
            lines.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).expect("JSON line")),
            );
        }
        lines
    };
    let kept = lines_of("ua-optin");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["user_agent"], CHROME_UA);
    assert_eq!(kept[0]["browser"], "Chrome");
    let default = lines_of("ua-default");
    assert_eq!(default.len(), 1);
    assert!(default[0].get("user_agent").is_none(), "{}", default[0]);
    assert_eq!(
        default[0]["browser"], "Chrome",
        "dimensions are still parsed"
    );
    assert!(
        !default[0].to_string().contains("Mozilla"),
        "no trace of the UA string"
    );
}

#[test]
fn cors_preflight_is_answered() {
    let shared = shared();
    let p = &shared.pipeline;
    let response = p
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/events", p.worker.base_url),
        )
        .header("Origin", "https://example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .expect("preflight");
    assert_eq!(response.status().as_u16(), 204);
    let allow = response
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(allow.contains("Authorization"), "{allow}");
    // The export routes answer no browser: no preflight, no CORS header on their answers.
    let preflight = p
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/internal/objects", p.worker.base_url),
        )
        .header("Origin", "https://example.com")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 404);
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let listing = p
        .http
        .get(format!("{}/internal/objects", p.worker.base_url))
        .header("Origin", "https://example.com")
        .send()
        .expect("listing");
    assert_eq!(listing.status().as_u16(), 401);
    assert!(listing
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[test]
fn revoked_key_is_refused() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, key_id) = p.create_key("revoke-check");
    let body = json!({"events": [view_start("r1", "v1", "c1")]}).to_string();
    assert_eq!(p.post_events(&key, body.clone()).0, 202);
    let (status, answer) = json_of(
        p.http
            .delete(format!("{}/api/v1/keys/{key_id}", p.server.base_url))
            .bearer_auth(p.admin_token("revoke-check"))
            .send()
            .expect("revoke"),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["edge_updated"], true, "{answer}");
    let (status, error) = p.post_events(&key, body);
    assert_eq!(status, 401, "{error}");
    assert!(error["error"].as_str().unwrap_or("").contains("revoked"));
    // Another tenant cannot revoke (or even see) this tenant's key.
    let (status, _) = json_of(
        p.http
            .delete(format!("{}/api/v1/keys/{key_id}", p.server.base_url))
            .bearer_auth(p.admin_token("acme"))
            .send()
            .expect("revoke"),
    );
    assert_eq!(status, 404);
}

#[test]
fn keys_bound_to_origins_refuse_other_origins() {
    let shared = shared();
    let p = &shared.pipeline;
    let (key, _) = p.create_key_with(
        "origin-check",
        json!({"name": "player", "allowed_origins": ["https://Player.example.com/"]}),
    );
    let body = json!({"events": [view_start("o1", "v1", "c1")]}).to_string();
    let post = |origin: Option<&str>, referer: Option<&str>| {
        let mut request = p
            .http
            .post(format!("{}/v1/events", p.worker.base_url))
            .bearer_auth(&key)
            .body(body.clone());
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(referer) = referer {
            request = request.header("Referer", referer);
        }
        request.send().expect("post").status().as_u16()
    };
    assert_eq!(post(Some("https://player.example.com"), None), 202);
    assert_eq!(post(None, Some("https://player.example.com/watch/1")), 202);
    assert_eq!(post(Some("https://evil.example.com"), None), 403);
    assert_eq!(post(None, None), 403);
    // `Origin: null` (any client may send it) is not replaced by a Referer it chose too.
    assert_eq!(
        post(Some("null"), Some("https://player.example.com/watch/1")),
        403
    );
    let (status, _) = json_of(
        p.http
            .post(format!("{}/api/v1/keys", p.server.base_url))
            .bearer_auth(p.admin_token("origin-check"))
            .json(&json!({"allowed_origins": ["player.example.com"]}))
            .send()
            .expect("create"),
    );
    assert_eq!(status, 400, "an origin without scheme is refused");
}

#[test]
fn rate_limited_key_gets_429_with_retry_after() {
    let shared = shared();
    let p = &shared.pipeline;
    // 6 requests per minute: a burst of one, then one every 10 s.
    let (key, _) = p.create_key_with("rate-check", json!({"rate_limit_per_minute": 6}));
    let body = json!({"events": [view_start("rl1", "v1", "c1")]}).to_string();
    assert_eq!(p.post_events(&key, body.clone()).0, 202);
    let response = p
        .http
        .post(format!("{}/v1/events", p.worker.base_url))
        .bearer_auth(&key)
        .body(body)
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header");
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    // Only the acknowledged event is stored.
    let report = p.ingest("rate-check");
    assert_eq!(report["events_loaded"], 1, "{report}");
}

#[test]
fn queries_need_a_valid_token_and_see_only_their_tenant() {
    let shared = shared();
    let p = &shared.pipeline;
    let (status, _) = p.views_by_content("not-a-jwt");
    assert_eq!(status, 401);
    let expired = rollup_cli(&p.db, &["token", "--tenant", "acme", "--ttl-hours", "0"]);
    let (status, error) = p.views_by_content(&expired);
    assert_eq!(status, 401);
    assert!(
        error["error"].as_str().unwrap_or("").contains("expired"),
        "{error}"
    );
    let viewer = rollup_cli(&p.db, &["token", "--tenant", "nobody-here"]);
    let (status, body) = p.views_by_content(&viewer);
    assert_eq!(status, 200);
    assert_eq!(body["views"], json!([]));
    // A viewer token cannot trigger ingest or create keys.
    let response = p
        .http
        .post(format!("{}/api/v1/keys", p.server.base_url))
        .bearer_auth(viewer)
        .send()
        .expect("create");
    assert_eq!(response.status().as_u16(), 403);
}

#[test]
fn secrets_keys_and_tokens_never_reach_the_logs() {
    let shared = shared();
    let p = &shared.pipeline;
    // A key and a token in use, with a failing request each (errors are where secrets tend to leak).
    let (key, _) = p.create_key("log-check");
    let token = p.admin_token("log-check");
    let (status, _) = p.post_events(&key, "{not json".into());
    assert_eq!(status, 400);
    let (status, _) = p.post_events(&format!("{key}x"), "{}".into());
    assert_eq!(status, 401);
    let _ = p.ingest("log-check");
    let forged = format!("{token}x");
    assert_eq!(p.views_by_content(&forged).0, 401);
    let vars = pipeline_tests::dev_vars();
    let mut secrets: Vec<(&str, String)> = ["JWT_SECRET", "API_KEY_SECRET", "EXPORT_SECRET"]
        .iter()
        .filter_map(|name| vars.get(*name).map(|v| (*name, v.clone())))
        .collect();
    assert_eq!(secrets.len(), 3, "the dev secrets are known");
    secrets.push(("an API key", key));
    secrets.push(("a JWT", token));
    // The signature part of a key or token alone would leak as much.
    let signatures: Vec<(&str, String)> = secrets
        .iter()
        .filter_map(|(what, s)| {
            s.rsplit(['.', '_'])
                .next()
                .filter(|sig| sig.len() >= 16)
                .map(|sig| (*what, sig.to_string()))
        })
        .collect();
    secrets.extend(signatures);
    for log in [&p.worker.log_path, &p.server.log_path] {
        let text = std::fs::read_to_string(log).expect("log");
        assert!(!text.is_empty(), "{} is empty", log.display());
        for (what, secret) in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} appears in {}",
                log.display()
            );
        }
    }
}

/// SDK faults: the network goes down during playback, the view ends and the page closes while still
/// offline; the network comes back and the page is opened again. Everything arrives, as one view.
#[test]
fn events_queued_offline_arrive_after_the_page_is_closed_and_opened_again() {
    let shared = shared();
    let p = &shared.pipeline;
    let video = clip(shared.scratch.path());
    let (key, _) = p.create_key("sdk-faults");
    let run = p.run_browser(&key, &video, &["faults-clip", "0", "offline", "12"]);
    let played_s = run["played_s"].as_f64().expect("played seconds");
    assert!(
        run["queued_while_offline"].as_i64().unwrap_or(0) > 0,
        "{run}"
    );
    p.ingest("sdk-faults");
    let rows = p.view_metrics("sdk-faults", "playbackId=faults-clip");
    assert_eq!(rows[0]["viewCount"], 1, "one view, no duplicate: {rows}");
    assert_eq!(rows[0]["exitsBeforeStart"], 0.0, "{rows}");
    let watched_s = rows[0]["playtimeMins"].as_f64().unwrap_or(0.0) * 60.0;
    assert!(
        (watched_s - played_s).abs() <= 2.0,
        "watched {watched_s} s of {played_s} s played, most of it offline: {rows}"
    );
}

/// An R2 write that hangs: the worker gives up on it after its write timeout (`R2_WRITE_TIMEOUT_S`,
/// 1 s here), fails the flush and keeps the events buffered; the next flush writes them again. The
/// abandoned write still lands (4 s late, injected through the dev-only fault route), so the same
/// events are in two objects, loaded by two different pulls: the API counts each event once.
#[test]
fn an_r2_write_that_outlasts_its_timeout_is_retried_and_counted_once() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let p = Pipeline::start(scratch.path(), "r2-timeout", &["R2_WRITE_TIMEOUT_S:1"]);
    let (key, _) = p.create_key("r2-timeout");
    let batch = json!({"events": [
        view_start("t1", "v1", "slow-r2"), view_start("t2", "v2", "slow-r2"), view_start("t3", "v3", "slow-r2"),
    ]})
    .to_string();
    assert_eq!(p.post_events(&key, batch).0, 202);
    inject_faults(&p, json!({"r2_write_delays": 1, "r2_delay_ms": 4_000}));
    let started = Instant::now();
    let error = failed_ingest(&p, "r2-timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the flush gave up at its timeout, not when the write landed ({:?}): {error}",
        started.elapsed()
    );
    let recovered = p.ingest("r2-timeout");
    assert_eq!(recovered["events_loaded"], 3, "{recovered}");
    let (_, views) = p.views_by_content(&p.admin_token("r2-timeout"));
    assert_eq!(sorted_views(&views), vec![("slow-r2".to_string(), 3)]);
    // The late object arrives after its events were loaded from the re-flushed one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let late = loop {
        let report = p.ingest("r2-timeout");
        if report["objects_loaded"].as_i64().unwrap_or(0) > 0 || Instant::now() > deadline {
            break report;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        late["objects_loaded"], 1,
        "the abandoned write landed: {late}"
    );
    assert_eq!(late["events_loaded"], 0, "{late}");
    assert_eq!(late["duplicates_skipped"], 3, "{late}");
    let (_, views) = p.views_by_content(&p.admin_token("r2-timeout"));
    assert_eq!(sorted_views(&views), vec![("slow-r2".to_string(), 3)]);
}

/// Seconds the SDK's network is down in [`an_sdk_outage_of_minutes_loses_nothing_and_counts_one_view`]:
/// 150 in `make test`, 600 with `TAPEMETRIC_LONG_FAULTS=1`.
fn outage_seconds() -> u32 {
    match std::env::var("TAPEMETRIC_LONG_FAULTS").as_deref() {
        Ok("1") => 600,
        _ => 150,
    }
}

/// SDK faults: the network goes down for minutes while a video plays on in headless Chromium (the
/// page stays open), then comes back. The SDK delivers its backlog at once (the browser's `online`
/// event ends the backoff), every event the SDK queued is acknowledged, every acknowledged event is
/// loaded exactly once, and the view is one view with its watch time.
#[test]
fn an_sdk_outage_of_minutes_loses_nothing_and_counts_one_view() {
    let offline_s = outage_seconds();
    let scratch = tempfile::tempdir().expect("tempdir");
    let video = scratch.path().join("long.webm");
    // Small, 2 frames/s at 20 kbit/s (1.7 MB for the long run's 11 minutes): quick to make, and
    // Chromium buffers all of it before the outage (it buffers about 3 MB ahead).
    make_video(&video, "160x90:rate=2", offline_s + 90, "20k");
    let p = Pipeline::start(scratch.path(), "sdk-outage", &[]);
    let (key, _) = p.create_key("sdk-outage");
    let run = p.run_browser(
        &key,
        &video,
        &["outage-clip", "0", "outage", &offline_s.to_string()],
    );
    eprintln!("outage run: {run}");
    let queued = run["queued_when_back"].as_i64().unwrap_or(0);
    assert!(
        queued >= i64::from(offline_s / 10) - 1,
        "a heartbeat every 10 s was queued offline: {run}"
    );
    assert!(
        run["drained_after_s"].as_f64().is_some_and(|s| s < 15.0),
        "delivered within seconds of the network's return, not after the backoff: {run}"
    );
    assert_eq!(run["queued_never_acknowledged"], 0, "{run}");
    let report = p.ingest("sdk-outage");
    assert_eq!(
        report["events_loaded"], run["acknowledged"],
        "every acknowledged event, once: {report} {run}"
    );
    let rows = p.view_metrics("sdk-outage", "playbackId=outage-clip");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["viewCount"], 1, "one view, no duplicate: {rows}");
    assert_eq!(rows[0]["exitsBeforeStart"], 0.0, "{rows}");
    let played_s = run["played_s"].as_f64().expect("played seconds");
    let watched_s = rows[0]["playtimeMins"].as_f64().unwrap_or(0.0) * 60.0;
    assert!(
        (watched_s - played_s).abs() <= 2.0,
        "watched {watched_s} s of {played_s} s played, {offline_s} s of it offline: {rows}"
    );
}

/// Contract v2 through the real edge: a business exception and seeks with their times reach Mux's
/// metrics, and a v2 field out of its range is refused by name while the rest of the batch is kept.
#[test]
fn contract_v2_fields_pass_the_edge_into_mux_metrics() {
    let shared = shared();
    let p = &shared.pipeline;
    let tenant = "contract-v2";
    let (key, _) = p.create_key(tenant);
    let t = now_ms();
    let ev = |eid: &str, ty: &str, view: &str, at: i64, extra: Value| {
        let mut e = json!({"type": ty, "ts": at, "eid": format!("{tenant}-{eid}"),
                           "anonymous_id": "anon-1", "view_id": view, "content_id": "sintel"});
        if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(extra.clone());
        }
        e
    };
    let batch = json!({"events": [
        ev("1", "view_start", "geo", t - 60_000, json!({})),
        ev("2", "error", "geo", t - 58_000, json!({"fatal": true, "business_error": true, "error_code": "GEO"})),
        ev("3", "view_start", "seeker", t - 60_000, json!({})),
        ev("4", "first_frame", "seeker", t - 59_500, json!({"ttff_ms": 500})),
        ev("5", "seek", "seeker", t - 50_000, json!({"seek_ms": 300, "position_s": 40})),
        ev("6", "seek", "seeker", t - 40_000, json!({"seek_ms": 500, "position_s": 80})),
        ev("7", "seek", "seeker", t - 30_000, json!({"seek_ms": 99_999_999})),
        ev("8", "error", "seeker", t - 20_000, json!({"business_error": "yes"})),
    ]})
    .to_string();
    let (status, receipt) = p.post_events(&key, batch);
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["accepted"], 6, "{receipt}");
    let rejected: Vec<(i64, String)> = receipt["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap_or(-1),
                r["error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 2, "{receipt}");
    assert_eq!(rejected[0].0, 6);
    assert!(rejected[0].1.contains("seek_ms"), "{}", rejected[0].1);
    assert_eq!(rejected[1].0, 7);
    assert!(
        rejected[1].1.contains("business_error"),
        "{}",
        rejected[1].1
    );
    p.ingest(tenant);
    let token = p.admin_token(tenant);
    let overall = |metric: &str| {
        let (status, body) = json_of(
            p.http
                .get(format!(
                    "{}/data/v1/metrics/{metric}/overall?timeframe[]=1:hours",
                    p.server.base_url
                ))
                .bearer_auth(&token)
                .send()
                .expect("query"),
        );
        assert_eq!(status, 200, "{metric}: {body}");
        body["data"]["value"].as_f64()
    };
    assert_eq!(overall("playback_business_exception_percentage"), Some(0.5));
    assert_eq!(overall("playback_failure_percentage"), Some(0.0));
    assert_eq!(overall("seek_latency"), Some(400.0));
    assert_eq!(overall("views"), Some(2.0));
}
