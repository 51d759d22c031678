//! Load run on loopback: the edge worker under `wrangler dev` beside a do-nothing worker under
//! `wrangler dev`, in the same run on the same machine, so that the ratio is the figure. Bounded in
//! time and count; prints requests/s and p50/p99 latency of each. Asserts nothing. Run by `make bench`.
//!
//! Usage: edge-load [--seconds N] [--connections N] [--max-requests N]

use event_schema::api_key::{ApiKey, ApiKeyVerifier};
use pipeline_tests::{dev_vars, start_noop_worker, start_worker_with_vars};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const EVENTS_PER_REQUEST: usize = 20;
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
];

struct Settings {
    seconds: u64,
    connections: usize,
    max_requests: usize,
}

fn settings() -> Settings {
    let mut s = Settings {
        seconds: 10,
        connections: 8,
        max_requests: 20_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
        match (pair[0].as_str(), value) {
            ("--seconds", Some(v)) => s.seconds = v.clamp(1, 120),
            ("--connections", Some(v)) => s.connections = (v as usize).clamp(1, 64),
            ("--max-requests", Some(v)) => s.max_requests = (v as usize).clamp(1, 200_000),
            ("--help", _) | ("-h", _) => {
                println!(
                    "edge-load [--seconds N (10)] [--connections N (8)] [--max-requests N (20000)]"
                );
                std::process::exit(0);
            }
            (flag, _) => {
                eprintln!("unknown or incomplete flag {flag}; see --help");
                std::process::exit(2);
            }
        }
    }
    s
}

fn batch_body(seq: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let events: Vec<String> = (0..EVENTS_PER_REQUEST)
        .map(|i| {
            format!(
                r#"{{"type":"heartbeat","ts":{now},"eid":"load-{seq}-{i}","anonymous_id":"a-{seq}","session_id":"s-{seq}","view_id":"v-{seq}","content_id":"film-{i}","watched_ms":10000,"rebuffer_ms":0,"played":[[{i},{}]]}}"#,
                i + 10
            )
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

struct Outcome {
    latencies_us: Vec<u64>,
    errors: usize,
    elapsed: Duration,
}

async fn run(url: String, key: String, s: &Settings) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(s.connections)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(s.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.connections {
        let (client, url, key, counter) =
            (client.clone(), url.clone(), key.clone(), counter.clone());
        let max = s.max_requests;
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            loop {
                let seq = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seq >= max || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let result = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("User-Agent", USER_AGENTS[seq % USER_AGENTS.len()])
                    .body(batch_body(seq))
                    .send()
                    .await;
                match result {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        if errors == 0 {
                            eprintln!(
                                "first error: {} {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            );
                        }
                        errors += 1;
                    }
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("first error: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut outcome = Outcome {
        latencies_us: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        if let Ok((latencies, errors)) = task.await {
            outcome.latencies_us.extend(latencies);
            outcome.errors += errors;
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies_us.sort_unstable();
    outcome
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

fn report(name: &str, o: &Outcome) -> f64 {
    let rps = o.latencies_us.len() as f64 / o.elapsed.as_secs_f64();
    println!(
        "  {name:<26} {rps:>9.0} req/s {:>9.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        rps * EVENTS_PER_REQUEST as f64,
        percentile(&o.latencies_us, 0.50),
        percentile(&o.latencies_us, 0.99),
        o.errors
    );
    rps
}

fn main() {
    let s = settings();
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let logs = scratch.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("logs: {e}"));
    let secret = dev_vars().remove("API_KEY_SECRET").unwrap_or_default();
    let key = ApiKeyVerifier::new(secret.as_bytes()).issue(&ApiKey {
        tenant_id: "load".into(),
        key_id: "loadkey".into(),
    });
    eprintln!("starting both workers under wrangler dev ...");
    // The load comes from one key: lift its rate limit so the run measures ingest, not the limiter.
    let edge = start_worker_with_vars(
        &scratch.path().join("edge"),
        Path::new(&logs),
        &["RATE_LIMIT_PER_MINUTE:100000000"],
    );
    let noop = start_noop_worker(&scratch.path().join("noop"), Path::new(&logs));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    println!(
        "edge load run (wrangler dev on loopback, {} connections, {} s or {} requests each, {EVENTS_PER_REQUEST} events/request)",
        s.connections, s.seconds, s.max_requests
    );
    let noop_outcome =
        runtime.block_on(run(format!("{}/v1/events", noop.base_url), key.clone(), &s));
    let edge_outcome = runtime.block_on(run(format!("{}/v1/events", edge.base_url), key, &s));
    let noop_rps = report("do-nothing worker", &noop_outcome);
    let edge_rps = report("tapemetric edge worker", &edge_outcome);
    println!(
        "  ratio (edge / do-nothing)  {:.2}x throughput, {:.2}x p50 latency",
        edge_rps / noop_rps,
        percentile(&edge_outcome.latencies_us, 0.5) / percentile(&noop_outcome.latencies_us, 0.5)
    );
}
