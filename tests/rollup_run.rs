//! The benchmarks' run of Tapemetric itself: a generated lake (cached per size under
//! ~/.cache/tapemetric/bench), loaded into a fresh database by the release `rollup-server` binary
//! (`ingest --once` with `--lake-dir`), then the dashboard's queries over HTTP against `rollup-server
//! serve` on that database. `rollup-bench` prints these figures; `peer-bench` sets them beside
//! PostgreSQL's and ClickHouse's.

use crate::{dev_vars, free_port, now_ms};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Tenants of the benchmark lakes; queries read the first.
pub const BENCH_TENANTS: [&str; 5] = ["acme", "globex", "initech", "umbrella", "hooli"];
/// The content whose QoE and engagement the dashboard queries ask for.
pub const BENCH_CONTENT: &str = "content-0001";

/// A generated benchmark lake.
#[derive(Debug, Clone)]
pub struct BenchLake {
    pub dir: PathBuf,
    /// Events asked for (duplicates from retries included).
    pub events: u64,
    /// The "now" the lake was generated for (views start in the 30 days before it).
    pub generated_at_ms: i64,
}

impl BenchLake {
    /// The lake of `events` events under ~/.cache/tapemetric/bench (or `dir`), generated once: a
    /// `COMPLETE` marker holding the generation time and [`lake_gen::DATASET_VERSION`] says it is
    /// whole and what this lake-gen writes (else it is generated again).
    pub fn cached(events: u64, dir: Option<PathBuf>) -> BenchLake {
        let dir = dir.unwrap_or_else(|| {
            std::env::var("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".cache/tapemetric/bench")
                .join(format!("lake-{events}"))
        });
        let marker = dir.join("COMPLETE");
        let current = std::fs::read_to_string(&marker)
            .is_ok_and(|t| t.lines().nth(1) == Some(lake_gen::DATASET_VERSION));
        if !current {
            let now = now_ms();
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!(
                "generating {events} events into {} (once) ...",
                dir.display()
            );
            let started = Instant::now();
            let generated = lake_gen::generate(&bench_config(events, now, false), &dir)
                .unwrap_or_else(|e| panic!("generate: {e}"));
            std::fs::write(&marker, format!("{now}\n{}\n", lake_gen::DATASET_VERSION))
                .unwrap_or_else(|e| panic!("marker: {e}"));
            eprintln!(
                "generated {} events in {} objects ({:.0} MB) in {:.0} s",
                generated.events_written,
                generated.objects,
                generated.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        let generated_at_ms = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse().ok())
            .unwrap_or_else(now_ms);
        BenchLake {
            dir,
            events,
            generated_at_ms,
        }
    }

    /// The generator's configuration of this lake (`keep_truth` for the expected answers).
    pub fn config(&self, keep_truth: bool) -> lake_gen::Config {
        bench_config(self.events, self.generated_at_ms, keep_truth)
    }

    /// The start of the dashboards' 30-day window (epoch ms).
    pub fn from_ms(&self) -> i64 {
        self.generated_at_ms - 30 * 86_400_000
    }

    /// Gzip bytes and object count of the lake.
    pub fn size(&self) -> (u64, u64) {
        fn walk(dir: &Path, acc: &mut (u64, u64)) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, acc);
                } else if path.extension().is_some_and(|e| e == "gz") {
                    acc.0 += entry.metadata().map_or(0, |m| m.len());
                    acc.1 += 1;
                }
            }
        }
        let mut acc = (0, 0);
        walk(&self.dir, &mut acc);
        acc
    }
}

fn bench_config(events: u64, now_ms: i64, keep_truth: bool) -> lake_gen::Config {
    lake_gen::Config {
        seed: 1,
        tenants: BENCH_TENANTS.map(String::from).to_vec(),
        events,
        days: 30,
        now_ms,
        contents: 500,
        viewers: 50_000,
        object_events: 20_000,
        keep_truth,
        store_user_agent: vec![BENCH_TENANTS[1].to_string()],
    }
}

/// The release `rollup-server` binary: `ROLLUP_SERVER_BIN`, else beside the running executable.
pub fn server_bin() -> PathBuf {
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
        .env("TAPEMETRIC_RETENTION_DAYS", "400")
        .env("RUST_LOG", "warn");
    command
}

/// Peak resident memory of a finished child, from `/usr/bin/time -v` output, in MB.
/// `rollup-server serve` on `port`, its scheduled pulls a day apart (the first one at start).
fn serve(db: &Path, lake: &Path, port: u16) -> Command {
    let mut command = server(db, lake);
    command.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--interval",
        "86400",
    ]);
    command
}

pub fn peak_mb(time_v_stderr: &str) -> Option<f64> {
    time_v_stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// `program` wrapped in `/usr/bin/time -v` where it exists (for [`peak_mb`]).
pub fn timed_command(program: &Path) -> Command {
    if Path::new("/usr/bin/time").exists() {
        let mut command = Command::new("/usr/bin/time");
        command.arg("-v").arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A lake loaded into a fresh database.
pub struct Loaded {
    /// Holds the database; removed on drop.
    pub work: tempfile::TempDir,
    pub db: PathBuf,
    pub lake: PathBuf,
    pub events_loaded: f64,
    /// Wall time of `ingest --once`, process start to exit: lake to queryable views.
    pub load_s: f64,
    /// The load's own breakdown (`read_s`, `store_s`, `views_s`, `commit_s`).
    pub seconds: Value,
    pub peak_mb: Option<f64>,
}

/// Loads `lake` into a fresh database as one `rollup-server ingest --once`.
pub fn load(lake: &BenchLake) -> Loaded {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let db = work.path().join("bench.duckdb");
    eprintln!("loading with {} ...", server_bin().display());
    let started = Instant::now();
    let mut command = timed_command(&server_bin());
    command
        .envs(dev_vars())
        .env("TAPEMETRIC_DB", &db)
        .env("TAPEMETRIC_LAKE_DIR", &lake.dir)
        .env("TAPEMETRIC_RETENTION_DAYS", "400")
        .env("RUST_LOG", "warn")
        .args(["ingest", "--once"]);
    let output = command.output().unwrap_or_else(|e| panic!("ingest: {e}"));
    let load_s = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ingest failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    Loaded {
        db,
        lake: lake.dir.clone(),
        events_loaded: report["events_loaded"].as_f64().unwrap_or(0.0),
        load_s,
        seconds: report["seconds"].clone(),
        peak_mb: peak_mb(&stderr),
        work,
    }
}

/// What a running server did with a pull of new events into a loaded store.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub events: u64,
    /// Seconds to read every view into memory at start (what reading them again costs).
    pub read_s: f64,
    /// Seconds from the pull's start until its views were queryable.
    pub pull_s: f64,
    /// Of that, seconds to bring the in-memory views up to date after the pull.
    pub index_s: f64,
}

/// Starts `rollup-server serve` on the loaded database with a lake of `events` new events of the
/// same tenants over the last hour (lake-gen, another seed), lets its first pull load them, and
/// reads from its log how long the pull and the in-memory views' update after it took.
pub fn follow_up_pull(loaded: &Loaded, events: u64) -> FollowUp {
    let lake = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let config = lake_gen::Config {
        seed: 2,
        tenants: BENCH_TENANTS.map(String::from).to_vec(),
        events,
        days: 1,
        now_ms: now_ms(),
        contents: 500,
        viewers: 50_000,
        object_events: 20_000,
        keep_truth: false,
        store_user_agent: vec![],
    };
    lake_gen::generate(&config, lake.path()).unwrap_or_else(|e| panic!("generate: {e}"));
    let log_path = lake.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("log: {e}"));
    let port = free_port();
    let mut child = serve(&loaded.db, lake.path(), port)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("serve: {e}"));
    let seconds_of = |line: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("seconds="))?
            .parse()
            .ok()
    };
    let time_of = |line: &str| -> Option<f64> {
        let stamp = line.split_whitespace().next()?;
        let time = stamp.split('T').nth(1)?.trim_end_matches('Z');
        let mut parts = time.split(':');
        let (h, m, s): (f64, f64, f64) = (
            parts.next()?.parse().ok()?,
            parts.next()?.parse().ok()?,
            parts.next()?.parse().ok()?,
        );
        Some(h * 3600.0 + m * 60.0 + s)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let figures = loop {
        assert!(
            Instant::now() < deadline,
            "no pull finished within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let read = lines.iter().find(|l| l.contains("views read into memory"));
        let loading = lines
            .iter()
            .find(|l| l.contains("loading new batch objects"));
        let after = loading.and_then(|loading| {
            lines.iter().skip_while(|l| *l != loading).find(|l| {
                l.contains("views updated in memory") || l.contains("views read into memory")
            })
        });
        if let (Some(read), Some(loading), Some(after)) = (read, loading, after) {
            break (
                seconds_of(read).unwrap_or(f64::NAN),
                time_of(after)
                    .zip(time_of(loading))
                    .map_or(f64::NAN, |(b, a)| b - a),
                seconds_of(after).unwrap_or(f64::NAN),
            );
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    FollowUp {
        events,
        read_s: figures.0,
        pull_s: figures.1,
        index_s: figures.2,
    }
}

/// `rollup-server serve` on a loaded database, with a token of the first bench tenant; stopped on drop.
pub struct QueryServer {
    child: Child,
    base: String,
    token: String,
    /// Seconds from process start to answering: opening the database and reading the views into
    /// memory (the view metrics are computed from there).
    pub start_s: f64,
}

/// p50 and p95 of a query's timed runs, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Latency {
    /// The nearest-rank p50 and p95 of `times_ms` (any order; empty gives NaN).
    pub fn of(times_ms: &[f64]) -> Latency {
        let mut sorted = times_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let p = |q: f64| {
            sorted
                .get(((sorted.len().max(1) - 1) as f64 * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Latency {
            p50_ms: p(0.5),
            p95_ms: p(0.95),
        }
    }
}

impl QueryServer {
    /// Starts the server on a free loopback port and waits until it answers.
    pub fn start(loaded: &Loaded) -> QueryServer {
        let port = free_port();
        let started = Instant::now();
        let child = serve(&loaded.db, &loaded.lake, port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("serve: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while http.get(format!("{base}/healthz")).send().is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let start_s = started.elapsed().as_secs_f64();
        let token_out = server(&loaded.db, &loaded.lake)
            .args(["token", "--tenant", BENCH_TENANTS[0]])
            .output()
            .unwrap_or_else(|e| panic!("token: {e}"));
        let token = String::from_utf8_lossy(&token_out.stdout)
            .trim()
            .to_string();
        QueryServer {
            child,
            base,
            token,
            start_s,
        }
    }

    /// The server's resident memory now, in MB (Linux).
    pub fn rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }

    /// Runs GET `path` `runs + 1` times (the first is a warm-up, not timed) and returns the latency
    /// and the first answer. `computed`: send `Cache-Control: no-cache`, so every answer is computed
    /// afresh; otherwise answers come from the server's cache as dashboards polling would get them.
    /// Requests go over one kept-alive HTTP/1.1 connection written and read by hand ([`RawHttp`]):
    /// reqwest's blocking client hands every request to a runtime thread and back, which added
    /// ~0.1 ms of its own to answers that take ~0.1 ms (PostgreSQL's figures come from its native
    /// synchronous client).
    pub fn time(&self, path: &str, runs: usize, computed: bool) -> (Latency, Value) {
        let address = self.base.trim_start_matches("http://");
        let mut http = RawHttp::connect(address);
        let headers = format!(
            "Authorization: Bearer {}\r\n{}",
            self.token,
            if computed {
                "Cache-Control: no-cache\r\n"
            } else {
                ""
            }
        );
        let mut times = Vec::new();
        let mut first = Value::Null;
        for i in 0..=runs {
            let t = Instant::now();
            let (status, body) = http.get(path, &headers);
            assert!((200..300).contains(&status), "{path}: {status}");
            if i == 0 {
                first = serde_json::from_slice(&body).unwrap_or(Value::Null);
            } else {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        (Latency::of(&times), first)
    }
}

/// One kept-alive HTTP/1.1 connection: GET requests written by hand, answers read by their
/// `Content-Length` or chunk by chunk.
pub struct RawHttp {
    reader: std::io::BufReader<std::net::TcpStream>,
    host: String,
}

impl RawHttp {
    pub fn connect(address: &str) -> RawHttp {
        let stream = std::net::TcpStream::connect(address)
            .unwrap_or_else(|e| panic!("connect {address}: {e}"));
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        RawHttp {
            reader: std::io::BufReader::new(stream),
            host: address.to_string(),
        }
    }

    /// GET `path` with `headers` (each ending in CRLF): the status and the body.
    pub fn get(&mut self, path: &str, headers: &str) -> (u16, Vec<u8>) {
        use std::io::{BufRead, Read, Write};
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{headers}\r\n",
            self.host
        );
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut line = String::new();
        let mut read_line = |reader: &mut std::io::BufReader<std::net::TcpStream>| {
            line.clear();
            reader
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            line.trim_end().to_string()
        };
        let status_line = read_line(&mut self.reader);
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: bad status line {status_line:?}"));
        let (mut length, mut chunked) = (None, false);
        loop {
            let header = read_line(&mut self.reader);
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((&header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = read_line(&mut self.reader);
                let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                    .unwrap_or_else(|_| panic!("{path}: bad chunk size {size:?}"));
                let start = body.len();
                body.resize(start + size, 0);
                self.reader
                    .read_exact(&mut body[start..])
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                read_line(&mut self.reader);
                if size == 0 {
                    break;
                }
            }
        } else {
            let length = length.unwrap_or_else(|| panic!("{path}: no Content-Length"));
            body.resize(length, 0);
            self.reader
                .read_exact(&mut body)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        (status, body)
    }
}

impl Drop for QueryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A dashboard query: its name, its API path, and (for the six the peers answer too) the name of
/// the equivalent query in tests/peers/{postgres,clickhouse}.sql and the plays' minimum watched ms.
#[derive(Debug, Clone)]
pub struct DashboardQuery {
    pub name: &'static str,
    pub path: String,
    pub peer: Option<PeerQuery>,
}

/// How the peers ask the same question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerQuery {
    /// The section name in the peers' SQL files.
    pub section: &'static str,
    /// Views started at or after this (epoch ms; mave's `from` is in whole seconds).
    pub from_ms: i64,
    /// mave's `minimum_watch_seconds` in ms (1 s by default).
    pub min_watch_ms: i64,
}

/// Engagement ranges asked for.
pub const ENGAGEMENT_RANGES: u32 = 100;

/// The dashboard's queries over `lake`'s last 30 days, for the first bench tenant.
pub fn dashboard_queries(lake: &BenchLake) -> Vec<DashboardQuery> {
    let from = lake.from_ms();
    let from_s = from / 1000;
    let peer = |section, from_ms, min_watch_ms| {
        Some(PeerQuery {
            section,
            from_ms,
            min_watch_ms,
        })
    };
    let q = |name, path: String, peer| DashboardQuery { name, path, peer };
    vec![
        q(
            "headline totals, 30 days",
            format!("/data/views/query?from={from}"),
            None,
        ),
        q(
            "views by day x country, 30 days",
            format!("/data/views/query?from={from}&timeStep=day&breakdownBy[]=country"),
            peer("views_by_day_country", from, 1_000),
        ),
        q(
            "QoE by day, one content",
            format!("/data/views/query?from={from}&timeStep=day&playbackId={BENCH_CONTENT}"),
            peer("qoe_by_day_content", from, 1_000),
        ),
        q(
            "views by browser x os",
            format!("/data/views/query?from={from}&breakdownBy[]=browser&breakdownBy[]=os"),
            None,
        ),
        q(
            "plays, min 30 s, by day",
            format!("/api/v1/plays?from={from_s}&interval=1%20day&minimum_watch_seconds=30"),
            peer("plays_by_day", from_s * 1000, 30_000),
        ),
        q(
            "engagement, 100 ranges",
            format!(
                "/api/v1/engagement?from={from_s}&identifier={BENCH_CONTENT}&ranges={ENGAGEMENT_RANGES}"
            ),
            peer("engagement", from_s * 1000, 1_000),
        ),
        q(
            "sources by day",
            format!("/api/v1/sources?from={from_s}&interval=1%20day"),
            peer("sources_by_day", from_s * 1000, 1_000),
        ),
        q(
            "unique viewers by country",
            format!("/data/views/query?from={from}&breakdownBy[]=country"),
            peer("viewers_by_country", from, 1_000),
        ),
        q(
            "Mux: startup time (median), overall",
            format!("/data/v1/metrics/video_startup_time/overall?timeframe[]={from_s}&timeframe[]={}", from_s + 31 * 86_400),
            None,
        ),
        q(
            "Mux: rebuffering by country",
            format!("/data/v1/metrics/rebuffer_percentage/breakdown?timeframe[]={from_s}&timeframe[]={}&group_by=country", from_s + 31 * 86_400),
            None,
        ),
        q(
            "Mux: failures by day",
            format!("/data/v1/metrics/playback_failure_percentage/timeseries?timeframe[]={from_s}&timeframe[]={}&group_by=day", from_s + 31 * 86_400),
            None,
        ),
        q(
            "Mux: smoothness insights",
            format!("/data/v1/metrics/rebuffer_score/insights?timeframe[]={from_s}&timeframe[]={}", from_s + 31 * 86_400),
            None,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_takes_nearest_rank_percentiles() {
        let times: Vec<f64> = (1..=21).rev().map(f64::from).collect();
        assert_eq!(
            Latency::of(&times),
            Latency {
                p50_ms: 11.0,
                p95_ms: 20.0
            }
        );
    }
}
