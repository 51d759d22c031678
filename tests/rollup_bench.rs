//! `rollup-bench`: loads a generated lake of N events (default 10 M) into a fresh database with the
//! release `rollup-server`, then times the dashboard's queries over HTTP. Prints figures; asserts none.
//!
//! `make bench` runs it. The dataset is cached under ~/.cache/tapemetric/bench (generated once).

use pipeline_tests::{dev_vars, free_port};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn server_bin() -> PathBuf {
    if let Ok(path) = std::env::var("ROLLUP_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    exe.parent()
        .map(|d| d.join("rollup-server"))
        .unwrap_or_default()
}

fn server(db: &Path, lake: &Path) -> Command {
    let mut command = Command::new(server_bin());
    command
        .envs(dev_vars())
        .env("TAPEMETRIC_DB", db)
        .env("TAPEMETRIC_LAKE_DIR", lake)
        .env("TAPEMETRIC_RETENTION_DAYS", "400");
    command
}

/// Peak resident memory of a finished child, from `/usr/bin/time -v` output, in MB.
fn peak_mb(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("rollup-bench [--events N] [--queries N] [--lake DIR]\n\nGenerates (once, cached) a lake of N events, loads it into a fresh DuckDB with the release rollup-server, and prints load rate, rollup time and dashboard query latencies.");
        return;
    }
    let events: u64 = arg("--events", "10000000").parse().unwrap_or(10_000_000);
    let runs: usize = arg("--queries", "40").parse().unwrap_or(40);
    let cache = std::env::var("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/tapemetric/bench");
    let lake = PathBuf::from(arg(
        "--lake",
        &cache.join(format!("lake-{events}")).to_string_lossy(),
    ));
    let marker = lake.join("COMPLETE");
    let now = now_ms();
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&lake);
        eprintln!(
            "generating {events} events into {} (once) ...",
            lake.display()
        );
        let started = Instant::now();
        let generated = lake_gen::generate(
            &lake_gen::Config {
                seed: 1,
                tenants: ["acme", "globex", "initech", "umbrella", "hooli"]
                    .map(String::from)
                    .to_vec(),
                events,
                days: 30,
                now_ms: now,
                contents: 500,
                viewers: 50_000,
                object_events: 20_000,
                keep_truth: false,
            },
            &lake,
        )
        .unwrap_or_else(|e| panic!("generate: {e}"));
        std::fs::write(&marker, format!("{}\n", now)).unwrap_or_else(|e| panic!("marker: {e}"));
        eprintln!(
            "generated {} events in {} objects ({:.0} MB) in {:.0} s",
            generated.events_written,
            generated.objects,
            generated.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    let generated_at: i64 = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(now);
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let db = work.path().join("bench.duckdb");

    // Load: lake -> events -> views, as one `ingest --once`.
    eprintln!("loading with {} ...", server_bin().display());
    let started = Instant::now();
    let timed = Path::new("/usr/bin/time").exists();
    let mut command = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(server_bin());
        c
    } else {
        Command::new(server_bin())
    };
    command
        .envs(dev_vars())
        .env("TAPEMETRIC_DB", &db)
        .env("TAPEMETRIC_LAKE_DIR", &lake)
        .env("TAPEMETRIC_RETENTION_DAYS", "400")
        .env("RUST_LOG", "warn")
        .args(["ingest", "--once"]);
    let output = command.output().unwrap_or_else(|e| panic!("ingest: {e}"));
    let load_s = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ingest failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let loaded = report["events_loaded"].as_f64().unwrap_or(0.0);
    let seconds = &report["seconds"];

    // Queries, through HTTP against the server on that database.
    let port = free_port();
    let mut serve = server(&db, &lake)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "86400",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("serve: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/health")).send().is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let token_out = server(&db, &lake)
        .args(["token", "--tenant", "acme"])
        .output()
        .unwrap_or_else(|e| panic!("token: {e}"));
    let token = String::from_utf8_lossy(&token_out.stdout)
        .trim()
        .to_string();
    let from = generated_at - 30 * 86_400_000;
    let from_s = from / 1000;
    let queries = [
        (
            "headline totals, 30 days",
            format!("/data/views/query?from={from}"),
        ),
        (
            "views by day x country, 30 days",
            format!("/data/views/query?from={from}&timeStep=day&breakdownBy[]=country"),
        ),
        (
            "QoE by day, one content",
            format!("/data/views/query?from={from}&timeStep=day&playbackId=content-0001"),
        ),
        (
            "views by browser x os",
            format!("/data/views/query?from={from}&breakdownBy[]=browser&breakdownBy[]=os"),
        ),
        (
            "plays, min 30 s, by day",
            format!("/api/v1/plays?from={from_s}&interval=1%20day&minimum_watch_seconds=30"),
        ),
        (
            "engagement, 100 ranges",
            format!("/api/v1/engagement?from={from_s}&identifier=content-0001&ranges=100"),
        ),
        (
            "sources by day",
            format!("/api/v1/sources?from={from_s}&interval=1%20day"),
        ),
        (
            "unique viewers by country",
            format!("/data/views/query?from={from}&breakdownBy[]=country"),
        ),
    ];
    let mut rows = Vec::new();
    for (name, path) in &queries {
        // Uncached (`Cache-Control: no-cache`: computed every time), then as dashboards poll (cached
        // until the next pull changes the data).
        let mut figures = Vec::new();
        for no_cache in [true, false] {
            let mut times = Vec::new();
            for i in 0..=runs {
                let t = Instant::now();
                let mut request = http.get(format!("{base}{path}")).bearer_auth(&token);
                if no_cache {
                    request = request.header("cache-control", "no-cache");
                }
                let response = request.send().unwrap_or_else(|e| panic!("{name}: {e}"));
                let status = response.status();
                let _ = response.bytes();
                assert!(status.is_success(), "{name}: {status}");
                if i > 0 {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            times.sort_by(f64::total_cmp);
            let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
            figures.push((p(0.5), p(0.95)));
        }
        rows.push((name, figures[0], figures[1]));
    }
    let _ = serve.kill();
    let _ = serve.wait();

    println!(
        "rollup server, {loaded:.0} events loaded from a {events}-event lake (5 tenants, 30 days):"
    );
    println!(
        "  load to queryable   {load_s:>8.1} s   {:>10.0} events/s",
        loaded / load_s.max(1e-9)
    );
    println!(
        "    read {:.1} s, store {:.1} s, rollup (views) {:.1} s, commit {:.1} s",
        seconds["read_s"].as_f64().unwrap_or(0.0),
        seconds["store_s"].as_f64().unwrap_or(0.0),
        seconds["views_s"].as_f64().unwrap_or(0.0),
        seconds["commit_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(mb) = peak_mb(&stderr) {
        println!("  peak memory (ingest) {mb:>7.0} MB");
    }
    println!("  dashboard queries over HTTP, tenant acme (~1/5 of the events), {runs} runs each:");
    println!(
        "    {:<34} {:>13} {:>13} {:>13} {:>13}",
        "query", "computed p50", "computed p95", "cached p50", "cached p95"
    );
    for (name, (p50, p95), (c50, c95)) in rows {
        println!("    {name:<34} {p50:>10.2} ms {p95:>10.2} ms {c50:>10.2} ms {c95:>10.2} ms");
    }
}
