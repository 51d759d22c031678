//! `peer-bench`: Tapemetric beside its peers, in one run. For each lake size, the same generated lake
//! is loaded by
//!   - Tapemetric: the release `rollup-server` (`ingest --once`), queried over HTTP (`rollup_run`);
//!   - PostgreSQL 15 (the store behind mave): a private cluster, COPY, views built and indexed in SQL;
//!   - ClickHouse through chDB (the store behind Plausible, PostHog and Livepeer): MergeTree tables.
//!
//! Then the six dashboard queries are asked of all three, their answers are checked to be the same (and
//! equal to lake-gen's independently computed expected answers) before anything is timed, and a table
//! of load-to-queryable time, events/s, peak memory and query p50/p95 is printed, with our ratio to each
//! peer. Prints figures; asserts no timing. `make bench-peers` runs it (scripts/setup-peers.sh installs
//! PostgreSQL first).

mod peers;

use peers::answers::{self, Rows};
use peers::memory::PssSampler;
use peers::{chdb, postgres};
use pipeline_tests::rollup_run::{
    dashboard_queries, load, BenchLake, DashboardQuery, Latency, PeerQuery, QueryServer,
    BENCH_CONTENT, BENCH_TENANTS, ENGAGEMENT_RANGES,
};
use serde_json::{json, Value};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One system's figures at one size.
struct SystemRun {
    name: &'static str,
    load_s: f64,
    peak_mb: Option<f64>,
    /// Per dashboard query (in `dashboard_queries` order, peers' queries only).
    latencies: Vec<Latency>,
}

/// A system's answers, per query.
type Answers = Vec<Rows>;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("peer-bench [--events N | --sizes \"N M ...\"] [--queries RUNS] [--no-expected]\n\nLoads the same generated lake (cached per size) into Tapemetric, PostgreSQL 15 and chDB, checks\nthat the three answer the six dashboard queries alike, and prints load and query figures side by side.\nDefault: --sizes \"1000000\", 20 timed runs per query.");
        return Ok(());
    }
    let sizes: Vec<u64> = match (arg("--sizes"), arg("--events")) {
        (Some(list), _) => list
            .split([' ', ','])
            .filter_map(|s| s.parse().ok())
            .collect(),
        (None, Some(n)) => vec![n.parse()?],
        (None, None) => vec![1_000_000],
    };
    let runs: usize = arg("--queries").map_or(Ok(20), |r| r.parse())?;
    let check_expected = !std::env::args().any(|a| a == "--no-expected");
    let mut tables = Vec::new();
    for &events in &sizes {
        tables.push(run_size(events, runs, check_expected)?);
    }
    println!();
    for table in tables {
        println!("{table}");
    }
    Ok(())
}

/// The parameters of a peer's query, as chdb_bench.py reads them.
fn chdb_params(peer: &PeerQuery) -> Value {
    json!({
        "tenant": BENCH_TENANTS[0],
        "from_ms": peer.from_ms,
        "content": BENCH_CONTENT,
        "min_watch_ms": peer.min_watch_ms,
        "ranges": ENGAGEMENT_RANGES,
    })
}

/// The machine's 1-minute load average (other work on a shared machine moves the figures).
fn machine_load() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().next().unwrap_or("?").to_string()
}

fn run_size(events: u64, runs: usize, check_expected: bool) -> anyhow::Result<String> {
    let lake = BenchLake::cached(events, None);
    let load_before = machine_load();
    let (lake_bytes, objects) = lake.size();
    let queries: Vec<(DashboardQuery, PeerQuery)> = dashboard_queries(&lake)
        .into_iter()
        .filter_map(|q| q.peer.map(|p| (q, p)))
        .collect();

    // Load each system; one at a time, so each has the machine to itself (no server of another
    // system runs meanwhile).
    eprintln!("[{events}] Tapemetric: loading ...");
    let ours_loaded = load(&lake);

    eprintln!("[{events}] chDB: loading ...");
    let session = tempfile::Builder::new().prefix("peer-chdb").tempdir()?;
    let ch_figures = chdb::load(&session.path().join("db"), &lake.dir)?;

    eprintln!("[{events}] PostgreSQL: starting a private cluster, loading ...");
    let cluster = postgres::Cluster::start()?;
    let mut pg = cluster.connect()?;
    // The server's processes and this one (it decodes the lake for COPY).
    let sampler = PssSampler::start(
        cluster
            .postmaster_pid()
            .into_iter()
            .chain([std::process::id()])
            .collect(),
    );
    let started = Instant::now();
    let pg_figures = postgres::load(&mut pg, &lake.dir)?;
    let pg_load_s = started.elapsed().as_secs_f64();
    let pg_peak = sampler.stop();

    let ours_server = QueryServer::start(&ours_loaded);

    // The same answers from all three, before anything is timed.
    eprintln!("[{events}] checking that the answers agree ...");
    let ours_answers: Answers = queries
        .iter()
        .map(|(q, p)| answers::ours(p.section, &ours_server.time(&q.path, 0, true).1))
        .collect();
    let pg_statements = queries
        .iter()
        .map(|(_, p)| postgres::prepare(&mut pg, p.section))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pg_params = |p: &PeerQuery| postgres::QueryParams {
        tenant: BENCH_TENANTS[0],
        from_ms: p.from_ms,
        content: BENCH_CONTENT,
        min_watch_ms: p.min_watch_ms,
        ranges: ENGAGEMENT_RANGES as i32,
    };
    let pg_answers: Answers = queries
        .iter()
        .zip(&pg_statements)
        .map(|((_, p), s)| postgres::run(&mut pg, s, &pg_params(p)))
        .collect::<anyhow::Result<_>>()?;
    let ch_requests: Vec<(&str, Value)> = queries
        .iter()
        .map(|(_, p)| (p.section, chdb_params(p)))
        .collect();
    let ch_answers: Answers = chdb::query(&session.path().join("db"), 0, &ch_requests)?
        .into_iter()
        .map(|(rows, _)| rows)
        .collect();
    let expected: Option<Answers> = (check_expected && events <= 10_000_000)
        .then(|| expected_answers(&lake, &queries))
        .transpose()?;
    let mut differences = Vec::new();
    for (i, (q, p)) in queries.iter().enumerate() {
        if ours_answers[i].is_empty() {
            differences.push(format!("{}: Tapemetric answered no rows", q.name));
        }
        let mut others = vec![("PostgreSQL", &pg_answers[i]), ("chDB", &ch_answers[i])];
        if let Some(expected) = &expected {
            others.push(("lake-gen's expected answer", &expected[i]));
        }
        for (who, theirs) in others {
            if let Some(diff) = answers::diff(p.section, &ours_answers[i], theirs) {
                differences.push(format!(
                    "{} (Tapemetric against {who}):\n    {diff}",
                    q.name
                ));
            }
        }
    }
    anyhow::ensure!(
        differences.is_empty(),
        "the systems' answers differ; nothing was timed:\n  {}",
        differences.join("\n  ")
    );
    eprintln!(
        "[{events}] all {} queries: Tapemetric, PostgreSQL and chDB answer alike{}",
        queries.len(),
        if expected.is_some() {
            ", and as lake-gen expects"
        } else {
            ""
        }
    );

    // Timing, one system at a time.
    eprintln!("[{events}] timing {runs} runs per query ...");
    let ours_latencies: Vec<Latency> = queries
        .iter()
        .map(|(q, _)| ours_server.time(&q.path, runs, true).0)
        .collect();
    drop(ours_server);
    let mut pg_latencies = Vec::new();
    for ((_, p), statement) in queries.iter().zip(&pg_statements) {
        let params = pg_params(p);
        let mut times = Vec::new();
        for i in 0..=runs {
            let t = Instant::now();
            postgres::run(&mut pg, statement, &params)?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        pg_latencies.push(Latency::of(&times));
    }
    drop(pg);
    drop(cluster);
    let ch_latencies: Vec<Latency> = chdb::query(&session.path().join("db"), runs, &ch_requests)?
        .into_iter()
        .map(|(_, times)| Latency::of(&times))
        .collect();

    let systems = [
        SystemRun {
            name: "Tapemetric",
            load_s: ours_loaded.load_s,
            peak_mb: ours_loaded.peak_mb,
            latencies: ours_latencies,
        },
        SystemRun {
            name: "PostgreSQL 15",
            load_s: pg_load_s,
            peak_mb: Some(pg_peak),
            latencies: pg_latencies,
        },
        SystemRun {
            name: "chDB 4.4.0",
            load_s: ch_figures.load_s,
            peak_mb: ch_figures.peak_mb,
            latencies: ch_latencies,
        },
    ];
    let mut out = format!(
        "{} events ({} lines with retried copies; {objects} gzip NDJSON objects, {:.0} MB), 5 tenants, 30 days.\n\
         Query columns: p50/p95 ms, tenant acme (~1/5 of the events), {runs} timed runs each after one untimed; Tapemetric over HTTP\n\
         (answers computed: Cache-Control: no-cache), PostgreSQL over its wire protocol (prepared), chDB in-process.\n\
         Load: PostgreSQL COPY {:.1} s + views {:.1} s; chDB insert {:.1} s + views {:.1} s.\n\
         Machine: {} cores, 1-minute load average {load_before} before, {} after.\n",
        events,
        pg_figures.events,
        lake_bytes as f64 / 1e6,
        pg_figures.copy_s,
        pg_figures.build_s,
        ch_figures.load_s - ch_figures.build_s,
        ch_figures.build_s,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        machine_load(),
    );
    out.push_str(&table(
        &systems,
        pg_figures.events.max(ch_figures.events),
        &queries,
    ));
    Ok(out)
}

/// Short column names of the six queries, in `dashboard_queries` order.
fn short_name(section: &str) -> &'static str {
    match section {
        "views_by_day_country" => "day x country",
        "qoe_by_day_content" => "QoE 1 content",
        "plays_by_day" => "plays >= 30 s",
        "engagement" => "engagement 100",
        "sources_by_day" => "sources",
        "viewers_by_country" => "viewers x ctry",
        _ => "?",
    }
}

fn table(
    systems: &[SystemRun],
    lake_events: u64,
    queries: &[(DashboardQuery, PeerQuery)],
) -> String {
    let mut out = String::new();
    let mut line = format!(
        "{:<22} {:>9} {:>10} {:>8}",
        "system", "load s", "events/s", "peak MB"
    );
    for (_, p) in queries {
        line.push_str(&format!(" {:>15}", short_name(p.section)));
    }
    out.push_str(&line);
    out.push('\n');
    let fmt_ms = |l: &Latency| format!("{:.1}/{:.1}", l.p50_ms, l.p95_ms);
    for s in systems {
        let mut line = format!(
            "{:<22} {:>9.1} {:>10.0} {:>8}",
            s.name,
            s.load_s,
            lake_events as f64 / s.load_s.max(1e-9),
            s.peak_mb.map_or("?".into(), |m| format!("{m:.0}"))
        );
        for l in &s.latencies {
            line.push_str(&format!(" {:>15}", fmt_ms(l)));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let ours = &systems[0];
    for peer in &systems[1..] {
        let ratio = |a: f64, b: f64| format!("{:.2}", a / b.max(1e-9));
        let mut line = format!(
            "{:<22} {:>9} {:>10} {:>8}",
            format!("ours/{}", peer.name.split(' ').next().unwrap_or("")),
            ratio(ours.load_s, peer.load_s),
            ratio(peer.load_s, ours.load_s),
            match (ours.peak_mb, peer.peak_mb) {
                (Some(a), Some(b)) => ratio(a, b),
                _ => "?".into(),
            }
        );
        for (a, b) in ours.latencies.iter().zip(&peer.latencies) {
            line.push_str(&format!(
                " {:>15}",
                format!(
                    "{}/{}",
                    ratio(a.p50_ms, b.p50_ms),
                    ratio(a.p95_ms, b.p95_ms)
                )
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("(ratios: ours / peer, so below 1 is ours ahead for seconds, MB and ms; events/s is ours / peer, above 1 is ours ahead)\n");
    out
}

/// lake-gen's expected answers to the six queries (from the generator's truth, recomputed by
/// generating the same lake again into a scratch directory with `keep_truth`).
fn expected_answers(
    lake: &BenchLake,
    queries: &[(DashboardQuery, PeerQuery)],
) -> anyhow::Result<Answers> {
    use lake_gen::expected::{
        day_label, engagement, grouped, mave_browser, mave_device_type, mave_platform, metrics,
        plays, Step,
    };
    eprintln!("  regenerating the lake's truth for the expected answers ...");
    let scratch = tempfile::tempdir()?;
    let truth = lake_gen::generate(&lake.config(true), scratch.path())?.truth;
    drop(scratch);
    let tenant = BENCH_TENANTS[0];
    let metric_row = |mut key: Vec<Value>, views: &[&lake_gen::TruthView]| {
        let m = metrics(views);
        key.extend([
            json!(m.view_count),
            json!(m.unique_viewers),
            json!(m.playtime_mins),
            m.ttff_ms.map_or(Value::Null, Value::from),
            m.ttff_p95_ms.map_or(Value::Null, Value::from),
            json!(m.rebuffer_ratio),
            json!(m.error_rate),
            json!(m.exits_before_start),
        ]);
        key
    };
    let mut out = Vec::new();
    for (_, p) in queries {
        let from = p.from_ms;
        let in_window = |v: &lake_gen::TruthView| v.tenant_id == tenant && v.started_ms >= from;
        let of_content = |v: &lake_gen::TruthView| in_window(v) && v.content_id == BENCH_CONTENT;
        let rows: Rows = match p.section {
            "views_by_day_country" => grouped(&truth, &["country"], Some(Step::Day), &in_window)
                .into_iter()
                .map(|((k, day), views)| metric_row(vec![json!(k[0]), json!(day)], &views))
                .collect(),
            "qoe_by_day_content" => grouped(&truth, &[], Some(Step::Day), &of_content)
                .into_iter()
                .map(|((_, day), views)| metric_row(vec![json!(day)], &views))
                .collect(),
            "viewers_by_country" => grouped(&truth, &["country"], None, &in_window)
                .into_iter()
                .map(|((k, _), views)| metric_row(vec![json!(k[0])], &views))
                .collect(),
            "plays_by_day" => {
                let mut days: std::collections::BTreeMap<String, Vec<&lake_gen::TruthView>> =
                    Default::default();
                for v in plays(&truth, p.min_watch_ms, &in_window) {
                    days.entry(day_label(v.started_ms)).or_default().push(v);
                }
                days.into_iter()
                    .map(|(day, views)| {
                        let count = |f: &dyn Fn(&lake_gen::TruthView) -> bool| {
                            json!(views.iter().filter(|v| f(v)).count())
                        };
                        let mut row = vec![
                            json!(day),
                            json!(views.len()),
                            json!(views.iter().map(|v| v.watched_ms).sum::<i64>() as f64 / 1000.0),
                        ];
                        for b in [
                            "brave", "chrome", "edge", "firefox", "ie", "opera", "other", "safari",
                        ] {
                            row.push(count(&|v| mave_browser(v.ua) == b));
                        }
                        for d in ["desktop", "mobile", "other", "tablet"] {
                            row.push(count(&|v| mave_device_type(v.ua) == d));
                        }
                        for pl in ["android", "ios", "linux", "mac", "other", "windows"] {
                            row.push(count(&|v| mave_platform(v.ua) == pl));
                        }
                        row
                    })
                    .collect()
            }
            "engagement" => engagement(
                &plays(&truth, p.min_watch_ms, &of_content),
                ENGAGEMENT_RANGES,
            )
            .into_iter()
            .enumerate()
            .map(|(i, (from_s, to_s, viewers))| {
                vec![json!(i), json!(from_s), json!(to_s), json!(viewers)]
            })
            .collect(),
            "sources_by_day" => {
                let mut counts: std::collections::BTreeMap<(String, String), i64> =
                    Default::default();
                for v in plays(&truth, p.min_watch_ms, &in_window) {
                    *counts
                        .entry((day_label(v.started_ms), v.source.clone()))
                        .or_default() += 1;
                }
                counts
                    .into_iter()
                    .map(|((day, source), n)| {
                        let host = source
                            .split_once("://")
                            .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_string());
                        vec![json!(day), json!(source), json!(host), json!(n)]
                    })
                    .collect()
            }
            other => anyhow::bail!("no expected answer for {other}"),
        };
        out.push(rows);
    }
    Ok(out)
}
