//! `rollup-bench`: loads a generated lake of N events (default 10 M) into a fresh database with the
//! release `rollup-server`, then times the dashboard queries over HTTP. Prints figures; asserts none.
//!
//! `make bench` runs it. The dataset is cached under ~/.cache/tapemetric/bench (generated once).
//! The run itself is `pipeline_tests::rollup_run`, shared with `peer-bench`.

use pipeline_tests::rollup_run::{dashboard_queries, follow_up_pull, load, BenchLake, QueryServer};
use std::path::PathBuf;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("rollup-bench [--events N] [--queries N] [--lake DIR]\n\nGenerates (once, cached) a lake of N events, loads it into a fresh DuckDB with the release rollup-server, and prints load rate, rollup time, a follow-up pull of 20 000 new events (until queryable, and the in-memory update beside reading every view again) and dashboard query latencies.");
        return;
    }
    let events: u64 = arg("--events", "10000000").parse().unwrap_or(10_000_000);
    let runs: usize = arg("--queries", "40").parse().unwrap_or(40);
    let lake_dir = std::env::args()
        .any(|a| a == "--lake")
        .then(|| PathBuf::from(arg("--lake", "")));
    let lake = BenchLake::cached(events, lake_dir);
    let loaded = load(&lake);
    let server = QueryServer::start(&loaded);
    let mut rows = Vec::new();
    for query in dashboard_queries(&lake) {
        // Uncached (`Cache-Control: no-cache`: computed every time), then as dashboards poll (cached
        // until the next pull changes the data).
        let (computed, _) = server.time(&query.path, runs, true);
        let (cached, _) = server.time(&query.path, runs, false);
        rows.push((query.name, computed, cached));
    }
    let (start_s, rss_mb) = (server.start_s, server.rss_mb());
    drop(server);
    let follow = follow_up_pull(&loaded, 20_000);

    let (loaded_events, load_s, seconds) = (loaded.events_loaded, loaded.load_s, &loaded.seconds);
    println!(
        "rollup server, {loaded_events:.0} events loaded from a {events}-event lake (5 tenants, 30 days):"
    );
    println!(
        "  load to queryable   {load_s:>8.1} s   {:>10.0} events/s",
        loaded_events / load_s.max(1e-9)
    );
    println!(
        "    read {:.1} s, store {:.1} s, rollup (views) {:.1} s, commit {:.1} s",
        seconds["read_s"].as_f64().unwrap_or(0.0),
        seconds["store_s"].as_f64().unwrap_or(0.0),
        seconds["views_s"].as_f64().unwrap_or(0.0),
        seconds["commit_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(mb) = loaded.peak_mb {
        println!("  peak memory (ingest) {mb:>7.0} MB");
    }
    println!(
        "  query server start   {start_s:>7.1} s   (opens the database, reads every view into memory){}",
        rss_mb.map_or(String::new(), |mb| format!("; {mb:.0} MB resident after the queries"))
    );
    println!(
        "  a pull of {} new events into it  {:>6.2} s until queryable; of that, views updated in memory {:.3} s (reading every view again: {:.2} s)",
        follow.events, follow.pull_s, follow.index_s, follow.read_s
    );
    println!("  dashboard queries over HTTP, tenant acme (~1/5 of the events), {runs} runs each:");
    println!(
        "    {:<34} {:>13} {:>13} {:>13} {:>13}",
        "query", "computed p50", "computed p95", "cached p50", "cached p95"
    );
    for (name, computed, cached) in rows {
        println!(
            "    {name:<34} {:>10.2} ms {:>10.2} ms {:>10.2} ms {:>10.2} ms",
            computed.p50_ms, computed.p95_ms, cached.p50_ms, cached.p95_ms
        );
    }
}
