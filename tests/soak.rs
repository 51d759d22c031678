//! `soak`: ingest and dashboards together, on loopback, for a bounded time (default 60 s). The edge
//! worker runs under `wrangler dev`, the rollup server on its own database; load connections send
//! batches (each a whole view: a view_start and 19 ten-second heartbeats) while a dashboard poller asks
//! the query API and a puller runs `POST /admin/ingest` every 10 s. Prints events/s held, p50/p99 of
//! ingest and queries, errors by kind, and whether the final counts equal what was acknowledged.
//! A bench, not a test: `make soak` (part of `make bench`).
//!
//! Usage: soak [--seconds N (60)] [--connections N (4)]

use event_schema::api_key::{ApiKey, ApiKeyVerifier};
use pipeline_tests::{
    dev_vars, flag, rollup_cli, start_rollup_server, start_worker_with_vars, Tally,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HEARTBEATS: usize = 19;

fn view_body(seq: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let start = now - (HEARTBEATS as u64 + 1) * 10_000;
    let common = format!(
        r#""anonymous_id":"soak-a-{seq}","session_id":"soak-s-{seq}","view_id":"soak-v-{seq}","content_id":"soak-film-{}""#,
        seq % 50
    );
    let mut events = vec![format!(
        r#"{{"type":"view_start","ts":{start},"eid":"soak-{seq}-0",{common}}}"#
    )];
    for i in 1..=HEARTBEATS {
        events.push(format!(
            r#"{{"type":"heartbeat","ts":{},"eid":"soak-{seq}-{i}",{common},"watched_ms":10000,"rebuffer_ms":0,"played":[[{},{}]]}}"#,
            start + i as u64 * 10_000,
            (i - 1) * 10,
            i * 10
        ));
    }
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("soak [--seconds N (60)] [--connections N (4)]: ingest while dashboards poll; prints figures");
        return;
    }
    let seconds = flag("--seconds", 60).clamp(5, 600);
    let connections = flag("--connections", 4).clamp(1, 32) as usize;
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let logs = scratch.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("logs: {e}"));
    let secret = dev_vars().remove("API_KEY_SECRET").unwrap_or_default();
    let key = ApiKeyVerifier::new(secret.as_bytes()).issue(&ApiKey {
        tenant_id: "soak".into(),
        key_id: "soakkey".into(),
    });
    eprintln!("starting the edge (wrangler dev) and the rollup server ...");
    let edge = start_worker_with_vars(
        &scratch.path().join("edge"),
        &logs,
        &["RATE_LIMIT_PER_MINUTE:100000000", "FLUSH_INTERVAL_S:5"],
    );
    let db = scratch.path().join("soak.duckdb");
    let server = start_rollup_server(&db, &edge.base_url, &logs);
    let token = rollup_cli(&db, &["token", "--tenant", "soak", "--role", "admin"]);
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (ingest, queries, pulls) = runtime.block_on(async {
        let mut loaders = Vec::new();
        for _ in 0..connections {
            let (http, url, key, sent) = (
                http.clone(),
                format!("{}/v1/events", edge.base_url),
                key.clone(),
                sent.clone(),
            );
            loaders.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let seq = sent.fetch_add(1, Ordering::SeqCst);
                    tally
                        .send(http.post(&url).bearer_auth(&key).body(view_body(seq)), 202)
                        .await;
                }
                tally
            }));
        }
        let poller = {
            let (http, base, token, stop) = (
                http.clone(),
                server.base_url.clone(),
                token.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let paths = [
                    "/data/views/query?timeStep=hour",
                    "/data/views/query?breakdownBy[]=playbackId",
                    "/data/views/now",
                    "/api/v1/plays?interval=1%20hour&timeframe=1%20day",
                    "/api/v1/engagement?identifier=soak-film-1&ranges=20&timeframe=1%20day",
                ];
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    tally
                        .send(
                            http.get(format!("{base}{}", paths[i % paths.len()]))
                                .bearer_auth(&token),
                            200,
                        )
                        .await;
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                tally
            })
        };
        let puller = {
            let (http, base, token, stop) = (
                http.clone(),
                server.base_url.clone(),
                token.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    tally
                        .send(
                            http.post(format!("{base}/admin/ingest"))
                                .bearer_auth(&token),
                            200,
                        )
                        .await;
                }
                tally
            })
        };
        let mut ingest = Tally::default();
        for loader in loaders {
            if let Ok(t) = loader.await {
                ingest.absorb(t);
            }
        }
        stop.store(true, Ordering::SeqCst);
        let queries = poller.await.unwrap_or_default();
        let pulls = puller.await.unwrap_or_default();
        (ingest, queries, pulls)
    });
    // Final pull (the edge flushes first), then the counts.
    let client = reqwest::blocking::Client::new();
    let final_pull = client
        .post(format!("{}/admin/ingest", server.base_url))
        .bearer_auth(&token)
        .send();
    let final_ok = final_pull.map(|r| r.status().is_success()).unwrap_or(false);
    let totals: serde_json::Value = client
        .get(format!("{}/data/views/query", server.base_url))
        .bearer_auth(&token)
        .header("cache-control", "no-cache")
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    let acked = ingest.latencies_us.len();
    let views = totals[0]["viewCount"].as_u64().unwrap_or(0) as usize;
    let playtime = totals[0]["playtimeMins"].as_f64().unwrap_or(0.0);
    let expected_playtime = acked as f64 * HEARTBEATS as f64 * 10.0 / 60.0;
    let (mut ingest, mut queries) = (ingest, queries);
    println!("soak: {seconds} s on loopback, {connections} ingest connections, a dashboard poller (one query per 50 ms), a pull every 10 s");
    println!(
        "  ingest    {:>8.0} events/s held ({} requests of {} events acknowledged)   p50 {:>7.2} ms   p99 {:>7.2} ms   refused {}   5xx {}   other errors {}",
        (acked * (HEARTBEATS + 1)) as f64 / seconds as f64,
        acked,
        HEARTBEATS + 1,
        ingest.percentile_ms(0.5),
        ingest.percentile_ms(0.99),
        ingest.refused,
        ingest.server_errors,
        ingest.other_errors
    );
    println!(
        "  queries   {:>8} answered   p50 {:>7.2} ms   p99 {:>7.2} ms   refused {}   5xx {}   other errors {}",
        queries.latencies_us.len(),
        queries.percentile_ms(0.5),
        queries.percentile_ms(0.99),
        queries.refused,
        queries.server_errors,
        queries.other_errors
    );
    println!(
        "  pulls     {:>8} during the run, refused {}, 5xx {}; final pull ok: {final_ok}",
        pulls.latencies_us.len(),
        pulls.refused,
        pulls.server_errors
    );
    println!(
        "  final counts: {views} views for {acked} acknowledged ({}); playtime {playtime:.1} min for {expected_playtime:.1} expected ({})",
        if views == acked { "equal" } else { "NOT EQUAL" },
        if (playtime - expected_playtime).abs() < 1e-6 * expected_playtime.max(1.0) { "equal" } else { "NOT EQUAL" }
    );
}
