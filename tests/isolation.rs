//! One tenant cannot stop another: an event with values that cannot happen is refused at the edge,
//! and lake objects holding such events (or no gzip at all) load as quarantined: the server keeps
//! answering, every other number is what it would be without them, before and after a restart, and
//! the tenant's admin can see what was left out and why.

use event_schema::batch_key::BatchObjectKey;
use flate2::write::GzEncoder;
use lake_gen::Config;
use pipeline_tests::{
    now_ms, rollup_cli, start_rollup_server_with, start_worker, GeneratedLake, Running,
};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Writes `bytes` into the lake as an object of `tenant` flushed at `at_ms`.
fn put_object(lake: &Path, tenant: &str, at_ms: i64, salt: u8, bytes: &[u8]) -> String {
    let key = BatchObjectKey::new(tenant, at_ms, [salt; 10]);
    let path = lake.join(key.as_str());
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write object");
    key.as_str().to_string()
}

/// A stored event line as the edge writes it (a desktop Chrome viewer, so it counts).
fn lake_line(tenant: &str, eid: &str, kind: &str, ts: i64, extra: &str) -> String {
    format!(
        "{{\"tenant_id\":\"{tenant}\",\"key_id\":\"k1\",\"received_at\":{ts},\"type\":\"{kind}\",\
         \"ts\":{ts},\"eid\":\"{eid}\",\"anonymous_id\":\"poisoner\",\"view_id\":\"poison-view\",\
         \"content_id\":\"poison-content\",\"browser\":\"Chrome\",\"os\":\"Windows\",\
         \"device_type\":\"desktop\"{extra}}}\n"
    )
}

struct Server {
    running: Running,
    http: reqwest::blocking::Client,
}

impl Server {
    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.running.base_url))
            .bearer_auth(token)
            .send()
            .expect("request");
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    fn text(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.running.base_url))
            .send()
            .expect("request");
        (
            response.status().as_u16(),
            response.text().unwrap_or_default(),
        )
    }

    /// Waits for the start-up pull (the scheduler's first tick) to have finished.
    fn wait_for_first_pull(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let (status, body) = self.text("/healthz");
            let health: Value = serde_json::from_str(&body).unwrap_or_default();
            if status == 200 && health["last_pull_ms"].is_i64() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no pull finished within 60 s:\n{}", self.running.log_tail());
    }

    /// What a tenant's dashboard reads.
    fn answers(&self, token: &str) -> Value {
        let mut out = serde_json::Map::new();
        for path in [
            "/api/v1/views/by-content",
            "/data/views/query",
            "/data/views/query?breakdownBy[]=country&breakdownBy[]=browser",
            "/data/views/query?timeStep=day&breakdownBy[]=playbackId",
            "/api/v1/plays?timeframe=30%20days&interval=1%20day",
            "/api/v1/sources?timeframe=30%20days",
            "/api/v1/engagement?timeframe=30%20days&ranges=20",
            "/data/v1/metrics/comparison?timeframe[]=30:days",
            "/data/v1/metrics/rebuffer_percentage/breakdown?timeframe[]=30:days&group_by=country",
            "/data/v1/metrics/playing_time/timeseries?timeframe[]=30:days&group_by=day",
            "/data/v1/dimensions/video_id?timeframe[]=30:days",
        ] {
            let (status, mut body) = self.get(path, token);
            assert_eq!(status, 200, "{path}: {body}");
            // Mux's answers echo the timeframe, which moves with the clock.
            if let Some(answer) = body.as_object_mut() {
                answer.remove("timeframe");
            }
            out.insert(path.to_string(), body);
        }
        Value::Object(out)
    }
}

fn serve(db: &Path, lake: &str, logs: &Path) -> Server {
    let running = start_rollup_server_with(
        db,
        "http://127.0.0.1:9",
        logs,
        &["--lake-dir", lake, "--retention-days", "400"],
    );
    let server = Server {
        running,
        http: reqwest::blocking::Client::new(),
    };
    server.wait_for_first_pull();
    server
}

/// A one-tenant lake of 200 events.
fn small_lake(seed: u64) -> GeneratedLake {
    GeneratedLake::new(|now_ms| Config {
        seed,
        tenants: vec!["acme".into()],
        events: 200,
        days: 1,
        now_ms,
        contents: 1,
        viewers: 5,
        object_events: 200,
        keep_truth: false,
        store_user_agent: vec![],
    })
}

/// Sends `head` to `address`, then a byte of body every second for 30 s; returns the answer (up to
/// the connection's close when `to_close`, else its first read) and how long it took.
fn drip_body(address: &str, head: &str, to_close: bool) -> (String, Duration) {
    use std::io::Read;
    let mut slow = std::net::TcpStream::connect(address).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    let started = Instant::now();
    slow.write_all(head.as_bytes()).expect("write");
    let dripper = {
        let mut slow = slow.try_clone().expect("clone");
        std::thread::spawn(move || {
            for _ in 0..30 {
                std::thread::sleep(Duration::from_secs(1));
                if slow.write_all(b" ").is_err() {
                    return;
                }
            }
        })
    };
    let mut answer = Vec::new();
    if to_close {
        let closed = slow.read_to_end(&mut answer);
        assert!(closed.is_ok(), "the connection was closed: {closed:?}");
    } else {
        let mut first = [0u8; 512];
        let read = slow
            .read(&mut first)
            .expect("an answer before the body is complete");
        answer.extend_from_slice(&first[..read]);
    }
    let held = started.elapsed();
    let _ = slow.shutdown(std::net::Shutdown::Both);
    let _ = dripper.join();
    (String::from_utf8_lossy(&answer).into_owned(), held)
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

#[test]
fn poison_objects_are_quarantined_and_every_other_number_stays_across_restarts() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 23,
        tenants: vec!["acme".into(), "globex".into()],
        events: 8_000,
        days: 3,
        now_ms,
        contents: 3,
        viewers: 40,
        object_events: 400,
        keep_truth: false,
        store_user_agent: vec![],
    });
    let logs = fixture.dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let acme = rollup_cli(
        &fixture.db,
        &["token", "--tenant", "acme", "--role", "admin"],
    );
    let globex = rollup_cli(
        &fixture.db,
        &["token", "--tenant", "globex", "--role", "admin"],
    );

    // The clean lake, served: the numbers every tenant should keep.
    let clean = serve(&fixture.db, &fixture.lake, &logs);
    let (clean_acme, clean_globex) = (clean.answers(&acme), clean.answers(&globex));
    drop(clean);

    // acme's poison: the review's two heartbeats of one view with watched_ms = 2^63-1, a line that
    // is no event, and an object that is not gzip at all.
    let lake = Path::new(&fixture.lake);
    let ts = fixture.now_ms - 3_600_000;
    let big = "9223372036854775807";
    let heartbeat = |eid: &str, at: i64| {
        lake_line(
            "acme",
            eid,
            "heartbeat",
            at,
            &format!(",\"watched_ms\":{big}"),
        )
    };
    let poison = heartbeat("p1", ts) + &heartbeat("p2", ts + 10_000) + "this line is not JSON\n";
    let poisoned_key = put_object(lake, "acme", ts + 30_000, 7, &gzip(&poison));
    let corrupt_key = put_object(lake, "acme", ts + 40_000, 9, b"not gzip at all");

    let db = fixture.dir.path().join("poisoned.duckdb");
    for run in ["first start", "restart"] {
        let server = serve(&db, &fixture.lake, &logs);
        assert_eq!(server.text("/healthz").0, 200, "{run}");
        assert_eq!(
            server.answers(&globex),
            clean_globex,
            "{run}: globex unchanged"
        );
        assert_eq!(
            server.answers(&acme),
            clean_acme,
            "{run}: acme's numbers unchanged"
        );

        let (status, listed) = server.get("/admin/quarantine", &acme);
        assert_eq!(status, 200, "{listed}");
        let entries: Vec<(String, Option<i64>, Option<String>)> = listed["quarantine"]
            .as_array()
            .expect("quarantine")
            .iter()
            .map(|q| {
                (
                    q["object_key"].as_str().unwrap_or_default().to_string(),
                    q["line"].as_i64(),
                    q["eid"].as_str().map(String::from),
                )
            })
            .collect();
        let mut entries = entries;
        entries.sort();
        let mut expected = vec![
            (corrupt_key.clone(), None, None),
            (poisoned_key.clone(), Some(1), Some("p1".to_string())),
            (poisoned_key.clone(), Some(2), Some("p2".to_string())),
            (poisoned_key.clone(), Some(3), None),
        ];
        expected.sort();
        assert_eq!(entries, expected, "{run}: {listed}");
        let reasons = listed.to_string();
        assert!(
            reasons.contains("`watched_ms` is 9223372036854775807, which cannot happen")
                && reasons.contains("is not valid gzip"),
            "{reasons}"
        );
        let (_, theirs) = server.get("/admin/quarantine", &globex);
        assert_eq!(
            theirs["quarantine"],
            json!([]),
            "tenants never see each other's"
        );

        let (_, metrics) = server.text("/metrics");
        // The first start loaded them; a restart meets nothing new (the objects are recorded).
        let (objects, lines) = if run == "first start" { (1, 3) } else { (0, 0) };
        assert_eq!(
            metric(&metrics, "tapemetric_objects_quarantined_total"),
            Some(objects),
            "{run}"
        );
        assert_eq!(
            metric(&metrics, "tapemetric_lines_quarantined_total"),
            Some(lines),
            "{run}"
        );
    }
}

#[test]
fn the_edge_refuses_a_poison_heartbeat_and_keeps_the_rest_of_the_batch() {
    let work = tempfile::tempdir().expect("temp dir");
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let worker = start_worker(&work.path().join("wrangler"), &logs);
    let db = work.path().join("keys.duckdb");
    let key = rollup_cli(&db, &["keys", "create", "--tenant", "acme"]);
    let now = now_ms();
    let event = |eid: &str, kind: &str, extra: Value| {
        let mut e = json!({"type": kind, "ts": now, "eid": eid, "anonymous_id": "a1",
                           "view_id": "v1", "content_id": "c1"});
        if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(extra.clone());
        }
        e
    };
    let body = json!({"events": [
        event("e1", "view_start", json!({})),
        event("e2", "heartbeat", json!({"watched_ms": i64::MAX, "played": [[0, 10]]})),
        event("e3", "heartbeat", json!({"watched_ms": 10_000, "rebuffer_ms": 3_600_001})),
        event("e4", "heartbeat", json!({"watched_ms": 10_000, "played": [[0, 10]]})),
    ]});
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", worker.base_url))
        .bearer_auth(&key)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36",
        )
        .json(&body)
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 202);
    let receipt: Value = response.json().expect("receipt");
    assert_eq!(receipt["accepted"], 2, "{receipt}");
    let rejected = receipt["rejected"].as_array().expect("rejected");
    let fields: Vec<(i64, &str)> = rejected
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap_or(-1),
                r["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(fields, [(1, "watched_ms"), (2, "rebuffer_ms")], "{receipt}");
    assert!(
        rejected[0]["error"]
            .as_str()
            .is_some_and(|r| r.contains("cannot happen")),
        "{receipt}"
    );
}

#[test]
fn a_client_dripping_its_headers_is_cut_off_by_the_rollup_server() {
    use std::io::Read;
    let fixture = small_lake(5);
    let server = fixture.serve();
    let address = server.base_url.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&address).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let started = Instant::now();
    // Headers never finished: one more byte every few seconds would do the same.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("write");
    let mut rest = Vec::new();
    let closed = slow.read_to_end(&mut rest);
    let held = started.elapsed();
    assert!(
        closed.is_ok(),
        "the server closed the connection: {closed:?}"
    );
    assert!(
        held < Duration::from_secs(25),
        "the connection was held for {held:?}"
    );
    // Everybody else is still served.
    let health = reqwest::blocking::get(format!("{}/healthz", server.base_url)).expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
}

fn post(http: &reqwest::blocking::Client, url: &str, token: &str) -> (u16, Option<String>, Value) {
    let response = http.post(url).bearer_auth(token).send().expect("request");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().unwrap_or_default();
    (
        status,
        retry,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[test]
fn on_demand_pulls_are_limited_per_tenant_and_shared_by_callers_that_wait_together() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 11,
        tenants: vec!["hog".into(), "quiet".into()],
        events: 400,
        days: 1,
        now_ms,
        contents: 1,
        viewers: 5,
        object_events: 200,
        keep_truth: false,
        store_user_agent: vec![],
    });
    let logs = fixture.dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let server = serve(&fixture.db, &fixture.lake, &logs);
    let token = |tenant: &str| {
        rollup_cli(
            &fixture.db,
            &["token", "--tenant", tenant, "--role", "admin"],
        )
    };
    let (hog, quiet) = (token("hog"), token("quiet"));
    let url = format!("{}/admin/ingest", server.running.base_url);
    let pulls =
        || metric(&server.text("/metrics").1, "tapemetric_pulls_total").expect("pulls_total");

    // Twelve callers at once, from one tenant: ten are served, sharing fewer pulls than callers; the
    // two past the allowance are refused with when to come back.
    let before = pulls();
    let answers: Vec<(u16, Option<String>, Value)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| post(&server.http, &url, &hog)))
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("joined"))
            .collect()
    });
    let served = answers.iter().filter(|(s, _, _)| *s == 200).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert_eq!((served, refused.len()), (10, 2), "{answers:?}");
    for (_, retry, body) in &refused {
        let seconds: u64 = retry
            .as_deref()
            .and_then(|r| r.parse().ok())
            .expect("Retry-After");
        assert!((1..=6).contains(&seconds), "{retry:?}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("on-demand pulls")),
            "{body}"
        );
    }
    let ran = pulls() - before;
    assert!(
        (1..10).contains(&ran),
        "ten callers waiting together share pulls: {ran} pulls ran"
    );
    // The other tenant's allowance is its own.
    let (status, _, body) = post(&server.http, &url, &quiet);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant_id"], "quiet");
    let refusals = metric(
        &server.text("/metrics").1,
        "tapemetric_requests_refused_total",
    );
    assert_eq!(refusals, Some(2));
}

#[test]
fn a_tenants_widest_concurrency_queries_are_answered_beside_another_tenants_reads() {
    // Eight days of one tenant's views, each an hour long: the query that took 2.7 s and a gigabyte
    // under the store lock.
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 13,
        tenants: vec!["hog".into(), "quiet".into()],
        events: 30_000,
        days: 8,
        now_ms,
        contents: 4,
        viewers: 300,
        object_events: 2_000,
        keep_truth: false,
        store_user_agent: vec![],
    });
    let logs = fixture.dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let server = serve(&fixture.db, &fixture.lake, &logs);
    let token = |tenant: &str| rollup_cli(&fixture.db, &["token", "--tenant", tenant]);
    let (hog, quiet) = (token("hog"), token("quiet"));
    let wide = format!(
        "/api/v1/concurrency?timeStep=hour&from={}&to={}",
        fixture.now_ms - 9 * 86_400_000,
        fixture.now_ms + 86_400_000
    );
    let (status, peaks) = server.get(&wide, &hog);
    assert_eq!(status, 200, "{peaks}");
    let peaks = peaks.as_array().cloned().unwrap_or_default();
    assert!(
        peaks.len() > 100,
        "hourly peaks over 8 days: {}",
        peaks.len()
    );
    assert!(peaks.iter().all(|p| p["concurrentPeak"].as_i64() > Some(0)));
    // While the hog runs its widest query over and over (cache misses: the window moves), the other
    // tenant's reads are answered, every one.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (server, hog, stop) = (&server, &hog, &stop);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let from = fixture.now_ms - 9 * 86_400_000 + worker * 1_000 + i;
                    let (status, body) = server.get(
                        &format!("/api/v1/concurrency?timeStep=hour&from={from}"),
                        hog,
                    );
                    assert!(status == 200 || status == 429, "{status} {body}");
                }
            });
        }
        for _ in 0..20 {
            for path in [
                "/data/views/now",
                "/data/views/query?breakdownBy[]=country",
                "/api/v1/concurrency",
            ] {
                let (status, body) = server.get(path, &quiet);
                assert_eq!(status, 200, "{path}: {body}");
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn a_client_dripping_its_body_gets_408_and_its_connection_closed() {
    let fixture = small_lake(6);
    let server = fixture.serve();
    let token = rollup_cli(&fixture.db, &["token", "--tenant", "acme"]);
    let address = server.base_url.trim_start_matches("http://").to_string();
    // A mave query whose 1 000-byte body comes a byte every second; the answer, then the close.
    let (answer, held) = drip_body(
        &address,
        &format!(
            "POST /api/v1/plays HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
            token.trim()
        ),
        true,
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("took longer than"), "{answer}");
    assert!(held < Duration::from_secs(25), "held for {held:?}");
}

#[test]
fn the_edge_answers_408_to_a_client_dripping_its_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let worker = start_worker(&dir.path().join("state"), &logs);
    let key = rollup_cli(
        &dir.path().join("keys.duckdb"),
        &["keys", "create", "--tenant", "acme"],
    );
    let address = worker.base_url.trim_start_matches("http://").to_string();
    let (answer, held) = drip_body(
        &address,
        &format!(
            "POST /v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
            key.trim()
        ),
        false,
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(held < Duration::from_secs(25), "answered after {held:?}");
}
