//! `hostile-bench`: how much one hostile tenant slows another, on loopback, for a bounded time.
//!
//! Tenant `quiet` ingests through the edge (`wrangler dev`), pulls on demand every 6 s and polls its
//! dashboard queries (each a fresh answer: `Cache-Control: no-cache`). Tenant `hog` has the same amount
//! of stored data and, in every second phase, floods the rollup server from 6 connections: the widest
//! concurrency query with a moving window, per-viewer breakdowns, mave queries on custom props (DuckDB),
//! viewers now, each a cache miss, and `POST /admin/ingest` in a loop. Phases alternate (quiet alone,
//! quiet beside the hog) so that drift on the machine falls on both. Prints quiet's query p50/p99 in
//! each kind of phase and their ratio (the figure; the goal is under 1.5x), quiet's ingest and pull
//! figures, and what the hog got: answered, refused (429/503 with Retry-After), other.
//!
//! A bench, not a test: `make bench-hostile` (part of `make bench`).
//!
//! Usage: hostile-bench [--seconds N per phase (15)] [--rounds N (2)] [--events N stored per tenant
//! (100000)]

use event_schema::api_key::{ApiKey, ApiKeyVerifier};
use lake_gen::Config;
use pipeline_tests::{
    dev_vars, flag, rollup_cli, start_rollup_server, start_worker_with_vars, GeneratedLake, Tally,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One whole view of quiet's: a view_start and five ten-second heartbeats.
fn view_body(seq: u64) -> String {
    let start = now_ms() - 60_000;
    let common = format!(
        r#""anonymous_id":"quiet-a-{seq}","session_id":"quiet-s-{seq}","view_id":"quiet-v-{seq}","content_id":"quiet-film-{}""#,
        seq % 10
    );
    let mut events = vec![format!(
        r#"{{"type":"view_start","ts":{start},"eid":"quiet-{seq}-0",{common}}}"#
    )];
    for i in 1..=5u64 {
        events.push(format!(
            r#"{{"type":"heartbeat","ts":{},"eid":"quiet-{seq}-{i}",{common},"watched_ms":10000,"played":[[{},{}]]}}"#,
            start + i * 10_000,
            (i - 1) * 10,
            i * 10
        ));
    }
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

/// Quiet's and the hog's tallies of one kind of phase.
#[derive(Default)]
struct Phase {
    polls: Tally,
    ingest: Tally,
    pulls: Tally,
    hog: Tally,
    hog_pulls: Tally,
}

struct Setup {
    server: String,
    edge: String,
    quiet_key: String,
    quiet: String,
    hog: String,
    now_ms: i64,
}

async fn run_phase(setup: Arc<Setup>, seconds: u64, with_hog: bool, seq: Arc<AtomicU64>) -> Phase {
    let http = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut quiet_tasks = Vec::new();
    // Quiet's dashboard: two pollers, one fresh query every 50 ms each.
    for poller in 0..2usize {
        let (http, setup, stop) = (http.clone(), setup.clone(), stop.clone());
        quiet_tasks.push(tokio::spawn(async move {
            let paths = [
                "/data/views/now".to_string(),
                "/data/views/query?timeStep=hour".to_string(),
                "/data/views/query?breakdownBy[]=country".to_string(),
                "/api/v1/concurrency?timeStep=day".to_string(),
                "/api/v1/plays?interval=1%20day&timeframe=30%20days".to_string(),
                "/api/v1/views/by-content".to_string(),
            ];
            let mut tally = Tally::default();
            let mut i = poller;
            while !stop.load(Ordering::SeqCst) {
                let url = format!("{}{}", setup.server, paths[i % paths.len()]);
                tally
                    .send(
                        http.get(url)
                            .bearer_auth(&setup.quiet)
                            .header("cache-control", "no-cache"),
                        200,
                    )
                    .await;
                i += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ("polls", tally)
        }));
    }
    {
        let (http, setup, stop, seq) = (http.clone(), setup.clone(), stop.clone(), seq.clone());
        quiet_tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while !stop.load(Ordering::SeqCst) {
                let body = view_body(seq.fetch_add(1, Ordering::SeqCst));
                let url = format!("{}/v1/events", setup.edge);
                tally
                    .send(
                        http.post(url)
                            .bearer_auth(&setup.quiet_key)
                            .header(
                                "user-agent",
                                "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36",
                            )
                            .body(body),
                        202,
                    )
                    .await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            ("ingest", tally)
        }));
    }
    {
        let (http, setup, stop) = (http.clone(), setup.clone(), stop.clone());
        quiet_tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while !stop.load(Ordering::SeqCst) {
                let url = format!("{}/admin/ingest", setup.server);
                tally
                    .send(http.post(url).bearer_auth(&setup.quiet), 200)
                    .await;
                tokio::time::sleep(Duration::from_secs(6)).await;
            }
            ("pulls", tally)
        }));
    }
    let mut hog_tasks = Vec::new();
    if with_hog {
        for worker in 0..6u64 {
            let (http, setup, stop) = (http.clone(), setup.clone(), stop.clone());
            hog_tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut i = 0u64;
                let day = 86_400_000;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    // A window that moves by a millisecond each time: never a cached answer.
                    let from = setup.now_ms - 9 * day + (worker * 1_000_000 + i) as i64;
                    let path = match (worker + i) % 4 {
                        0 => format!("/api/v1/concurrency?timeStep=hour&from={from}"),
                        1 => format!(
                            "/data/views/query?timeStep=hour&breakdownBy[]=viewerId&breakdownBy[]=browser&from={from}"
                        ),
                        2 => format!(
                            "/api/v1/plays?interval=1%20hour&timeframe=30%20days&query=%7B%22k{i}%22%3A%22v%22%7D"
                        ),
                        _ => "/data/views/now".to_string(),
                    };
                    tally
                        .send(
                            http.get(format!("{}{path}", setup.server))
                                .bearer_auth(&setup.hog)
                                .header("cache-control", "no-cache"),
                            200,
                        )
                        .await;
                }
                ("hog", tally)
            }));
        }
        let (http, setup, stop) = (http.clone(), setup.clone(), stop.clone());
        hog_tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while !stop.load(Ordering::SeqCst) {
                let url = format!("{}/admin/ingest", setup.server);
                tally
                    .send(http.post(url).bearer_auth(&setup.hog), 200)
                    .await;
            }
            ("hog_pulls", tally)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::SeqCst);
    let mut phase = Phase::default();
    for task in quiet_tasks.into_iter().chain(hog_tasks) {
        if let Ok((kind, tally)) = task.await {
            match kind {
                "polls" => phase.polls.absorb(tally),
                "ingest" => phase.ingest.absorb(tally),
                "pulls" => phase.pulls.absorb(tally),
                "hog" => phase.hog.absorb(tally),
                _ => phase.hog_pulls.absorb(tally),
            }
        }
    }
    phase
}

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!(
            "hostile-bench [--seconds N per phase (15)] [--rounds N (2)] [--events N per tenant (100000)]:\n\
             one tenant floods queries, cache misses and pulls while another ingests and polls;\n\
             prints the other's p50/p99 with and without the flood, and the flood's refusals"
        );
        return;
    }
    let seconds = flag("--seconds", 15).clamp(3, 300);
    let rounds = flag("--rounds", 2).clamp(1, 10);
    let events = flag("--events", 100_000).clamp(1_000, 5_000_000);
    eprintln!("generating and loading {events} stored events for each of two tenants ...");
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 77,
        tenants: vec!["hog".into(), "quiet".into()],
        events: events * 2,
        days: 8,
        now_ms,
        contents: 20,
        viewers: 2_000,
        object_events: 5_000,
        keep_truth: false,
        store_user_agent: vec![],
    });
    fixture.ingest();
    let logs = fixture.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("logs: {e}"));
    eprintln!("starting the edge (wrangler dev) and the rollup server ...");
    let edge = start_worker_with_vars(
        &fixture.dir.path().join("edge"),
        &logs,
        &["RATE_LIMIT_PER_MINUTE:100000000"],
    );
    let server = start_rollup_server(&fixture.db, &edge.base_url, &logs);
    let secret = dev_vars().remove("API_KEY_SECRET").unwrap_or_default();
    let quiet_key = ApiKeyVerifier::new(secret.as_bytes()).issue(&ApiKey {
        tenant_id: "quiet".into(),
        key_id: "quietkey".into(),
    });
    let token = |tenant: &str| {
        rollup_cli(
            &fixture.db,
            &["token", "--tenant", tenant, "--role", "admin"],
        )
        .trim()
        .to_string()
    };
    let setup = Arc::new(Setup {
        server: server.base_url.clone(),
        edge: edge.base_url.clone(),
        quiet_key,
        quiet: token("quiet"),
        hog: token("hog"),
        now_ms: fixture.now_ms,
    });
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let seq = Arc::new(AtomicU64::new(0));
    let (mut alone, mut beside) = (Phase::default(), Phase::default());
    for round in 1..=rounds {
        for with_hog in [false, true] {
            eprintln!(
                "round {round}/{rounds}: quiet {} for {seconds} s ...",
                if with_hog { "beside the hog" } else { "alone" }
            );
            let phase = runtime.block_on(run_phase(setup.clone(), seconds, with_hog, seq.clone()));
            let into = if with_hog { &mut beside } else { &mut alone };
            into.polls.absorb(phase.polls);
            into.ingest.absorb(phase.ingest);
            into.pulls.absorb(phase.pulls);
            into.hog.absorb(phase.hog);
            into.hog_pulls.absorb(phase.hog_pulls);
        }
    }
    println!(
        "hostile-bench: {rounds} rounds of {seconds} s alone and {seconds} s beside the hog, {events} stored events per tenant, loopback, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (a50, a99) = (
        alone.polls.percentile_ms(0.5),
        alone.polls.percentile_ms(0.99),
    );
    let (b50, b99) = (
        beside.polls.percentile_ms(0.5),
        beside.polls.percentile_ms(0.99),
    );
    for (name, phase, p50, p99) in [
        ("alone", &mut alone, a50, a99),
        ("beside the hog", &mut beside, b50, b99),
    ] {
        println!(
            "  quiet {name:<15} queries {:>6} answered  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  refused {}  other {}",
            phase.polls.latencies_us.len(),
            phase.polls.refused,
            phase.polls.server_errors + phase.polls.other_errors
        );
        println!(
            "  {:<21} ingest  {:>6} batches    p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}   pulls {} (p50 {:.0} ms, refused {}, other {})",
            "",
            phase.ingest.latencies_us.len(),
            phase.ingest.percentile_ms(0.5),
            phase.ingest.percentile_ms(0.99),
            phase.ingest.refused + phase.ingest.server_errors + phase.ingest.other_errors,
            phase.pulls.latencies_us.len(),
            phase.pulls.percentile_ms(0.5),
            phase.pulls.refused,
            phase.pulls.server_errors + phase.pulls.other_errors
        );
    }
    println!(
        "  ratio beside/alone     p50 {:.2}x  p99 {:.2}x   (goal: under 1.5x)",
        b50 / a50,
        b99 / a99
    );
    println!(
        "  hog                    queries answered {}  refused {} (429/503)  other {};  on-demand pulls answered {}  refused {}  other {}",
        beside.hog.latencies_us.len(),
        beside.hog.refused,
        beside.hog.server_errors + beside.hog.other_errors,
        beside.hog_pulls.latencies_us.len(),
        beside.hog_pulls.refused,
        beside.hog_pulls.server_errors + beside.hog_pulls.other_errors
    );
    drop(server);
    drop(edge);
}
