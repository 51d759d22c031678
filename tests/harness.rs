//! Starts the real pipeline for cross-component tests: the edge worker under `wrangler dev` (workerd,
//! local R2 and Durable Objects in a temporary directory) and the `rollup-server` binary with a
//! temporary DuckDB file, each on a free loopback port. Both stop when their guard is dropped.
//!
//! Prerequisites (the Makefile's `test` target does them): `npm ci`, `make build-worker`, and a built
//! `rollup-server` binary (found through `ROLLUP_SERVER_BIN` or next to the test executable).

pub mod rollup_run;

use std::collections::HashMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The local development secrets from `.dev.vars`.
pub fn dev_vars() -> HashMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join(".dev.vars")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A started process, stopped (with its whole process group) on drop.
pub struct Running {
    name: &'static str,
    child: Child,
    pub base_url: String,
    pub log_path: PathBuf,
}

impl Running {
    /// The last lines of the process's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).status();
        let _ = self.child.wait();
        eprintln!("stopped {}", self.name);
    }
}

fn spawn(name: &'static str, mut command: Command, log_dir: &Path, base_url: String) -> Running {
    use std::os::unix::process::CommandExt;
    let log_path = log_dir.join(format!("{name}.log"));
    let log = File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
    let err = log.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
    command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
    reap_after_exit(child.id());
    Running {
        name,
        child,
        base_url,
        log_path,
    }
}

/// Stops process group `pgid` when this test process ends, however it ends: a process kept for
/// the whole run (a pipeline shared by a binary's tests, in a `static`) is never dropped. The
/// watcher leaves as soon as the group is gone (stopped on drop), so it never signals a reused id.
fn reap_after_exit(pgid: u32) {
    let watcher = format!(
        "while kill -0 {parent} 2>/dev/null; do kill -0 -{pgid} 2>/dev/null || exit 0; sleep 1; done; \
         kill -TERM -{pgid} 2>/dev/null; sleep 5; kill -KILL -{pgid} 2>/dev/null; true",
        parent = std::process::id()
    );
    let _ = Command::new("sh")
        .args(["-c", &watcher])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// Waits until `GET {base_url}/health` answers 200.
pub fn wait_healthy(process: &mut Running, timeout: Duration) {
    if let Err(message) = try_wait_healthy(process, timeout) {
        panic!("{message}");
    }
}

/// Like [`wait_healthy`], but says why instead of panicking.
fn try_wait_healthy(process: &mut Running, timeout: Duration) -> Result<(), String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = process.child.try_wait() {
            return Err(format!(
                "{} exited early ({status}):\n{}",
                process.name,
                process.log_tail()
            ));
        }
        let url = format!("{}/health", process.base_url);
        if client
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "{} not healthy after {timeout:?}:\n{}",
        process.name,
        process.log_tail()
    ))
}

/// How many times a `wrangler dev` that exits before it is healthy is started again. Its ports are
/// picked free just before it starts, so another process (several tests start wrangler at once) can
/// take one in between; workerd then fails to bind and wrangler exits with "The Workers runtime failed
/// to start". A fresh pair of ports fixes that. A wrangler that keeps failing still fails the test.
const WRANGLER_START_ATTEMPTS: usize = 3;

/// Starts `wrangler dev` and waits for `/health`, again on fresh ports if it exits early.
fn start_wrangler_healthy(
    name: &'static str,
    extra_args: &[&str],
    state_dir: &Path,
    log_dir: &Path,
    log_level: &str,
) -> Running {
    let mut failures = Vec::new();
    for attempt in 1..=WRANGLER_START_ATTEMPTS {
        let mut running = start_wrangler(name, extra_args, state_dir, log_dir, log_level);
        match try_wait_healthy(&mut running, Duration::from_secs(90)) {
            Ok(()) => return running,
            Err(message) => {
                eprintln!("{name} attempt {attempt}/{WRANGLER_START_ATTEMPTS} failed: {message}");
                let early_exit = matches!(running.child.try_wait(), Ok(Some(_)));
                failures.push(message);
                drop(running);
                if !early_exit {
                    // Started but never healthy: trying again would only hide a real fault.
                    break;
                }
            }
        }
    }
    panic!("{}", failures.join("\n---\n"));
}

/// Starts the edge worker under `wrangler dev` with its state in `state_dir`.
pub fn start_worker(state_dir: &Path, log_dir: &Path) -> Running {
    start_worker_with_vars(state_dir, log_dir, &[])
}

/// Starts the edge worker with `vars` overriding wrangler.toml's `[vars]` (`NAME:value`).
pub fn start_worker_with_vars(state_dir: &Path, log_dir: &Path, vars: &[&str]) -> Running {
    let shim = repo_root().join("edge-worker/build/worker/shim.mjs");
    assert!(
        shim.exists(),
        "{} is missing: run `make build-worker` first",
        shim.display()
    );
    let args: Vec<&str> = vars.iter().flat_map(|v| ["--var", *v]).collect();
    start_wrangler_healthy("wrangler", &args, state_dir, log_dir, "info")
}

/// Starts the do-nothing baseline worker (tests/fixtures/noop-worker.js) under `wrangler dev`.
pub fn start_noop_worker(state_dir: &Path, log_dir: &Path) -> Running {
    let config = repo_root().join("tests/fixtures/noop-wrangler.toml");
    let config = config.to_string_lossy().into_owned();
    let args = ["--config", config.as_str()];
    // The do-nothing worker answers every path, /health included.
    start_wrangler_healthy("wrangler-noop", &args, state_dir, log_dir, "warn")
}

fn start_wrangler(
    name: &'static str,
    extra_args: &[&str],
    state_dir: &Path,
    log_dir: &Path,
    log_level: &str,
) -> Running {
    let root = repo_root();
    let port = free_port();
    // Without its own inspector port every wrangler asks for 9229, and two starting together race.
    let inspector_port = free_port();
    let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
    command
        .current_dir(&root)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
        .arg("dev")
        .args(extra_args)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector_port.to_string()])
        .arg("--persist-to")
        .arg(state_dir)
        .args([
            "--log-level",
            log_level,
            "--show-interactive-dev-session=false",
        ]);
    spawn(name, command, log_dir, format!("http://127.0.0.1:{port}"))
}

/// The `rollup-server` binary.
pub fn rollup_server_bin() -> PathBuf {
    if let Ok(path) = std::env::var("ROLLUP_SERVER_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test> -> target/<profile>/rollup-server
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test path {}", exe.display()));
    let bin = profile_dir.join("rollup-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p rollup-server` first",
        bin.display()
    );
    bin
}

/// A `rollup-server` command with the dev secrets and `db`.
pub fn rollup_command(db: &Path, edge_url: &str) -> Command {
    let mut command = Command::new(rollup_server_bin());
    command
        .envs(dev_vars())
        .env("TAPEMETRIC_DB", db)
        .env("TAPEMETRIC_EDGE_URL", edge_url)
        .env("RUST_LOG", "info");
    command
}

/// Starts `rollup-server serve` against the edge at `edge_url`.
pub fn start_rollup_server(db: &Path, edge_url: &str, log_dir: &Path) -> Running {
    start_rollup_server_with(db, edge_url, log_dir, &[])
}

/// Starts `rollup-server serve` with more flags after `serve` (e.g. `--dev-token-file`, or global ones
/// such as `--lake-dir DIR`).
pub fn start_rollup_server_with(
    db: &Path,
    edge_url: &str,
    log_dir: &Path,
    serve_args: &[&str],
) -> Running {
    let port = free_port();
    let mut command = rollup_command(db, edge_url);
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "3600",
        ])
        .args(serve_args);
    let mut running = spawn(
        "rollup-server",
        command,
        log_dir,
        format!("http://127.0.0.1:{port}"),
    );
    wait_healthy(&mut running, Duration::from_secs(30));
    running
}

/// Runs a `rollup-server` subcommand to completion and returns its stdout.
pub fn rollup_cli(db: &Path, args: &[&str]) -> String {
    let output = rollup_command(db, "http://127.0.0.1:9")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("rollup-server {args:?}: {e}"));
    assert!(
        output.status.success(),
        "rollup-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// `(name, count)` of each row of a JSON array answer, e.g. `("DE", 3)` for `name` = `country` and
/// `count` = `viewCount`; a missing name reads as "", a missing count as -1.
pub fn counts_by(rows: &serde_json::Value, name: &str, count: &str) -> Vec<(String, i64)> {
    rows.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r[name].as_str().unwrap_or("").to_string(),
                r[count].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Wall-clock epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A generated lake (lake-gen) in a temporary directory, beside the path of a fresh database.
pub struct GeneratedLake {
    /// Removed on drop.
    pub dir: tempfile::TempDir,
    /// The lake root (`--lake-dir`).
    pub lake: String,
    pub db: PathBuf,
    /// The "now" the dataset was generated for.
    pub now_ms: i64,
    pub generated: lake_gen::Generated,
}

impl GeneratedLake {
    /// Writes the lake that `config(now_ms)` describes.
    pub fn new(config: impl FnOnce(i64) -> lake_gen::Config) -> GeneratedLake {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let lake = dir.path().join("lake");
        let now_ms = now_ms();
        let generated =
            lake_gen::generate(&config(now_ms), &lake).unwrap_or_else(|e| panic!("generate: {e}"));
        GeneratedLake {
            db: dir.path().join("tapemetric.duckdb"),
            lake: lake.to_string_lossy().into_owned(),
            dir,
            now_ms,
            generated,
        }
    }

    /// `rollup-server --lake-dir <lake> --retention-days 400 ingest --once`; returns its report.
    pub fn ingest(&self) -> serde_json::Value {
        let out = rollup_cli(
            &self.db,
            &[
                "--lake-dir",
                &self.lake,
                "--retention-days",
                "400",
                "ingest",
                "--once",
            ],
        );
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ingest report: {e}: {out}"))
    }

    /// Starts `rollup-server serve` on the database, reading the lake.
    pub fn serve(&self) -> Running {
        let logs = self.dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("logs: {e}"));
        start_rollup_server_with(
            &self.db,
            "http://127.0.0.1:9",
            &logs,
            &["--lake-dir", &self.lake, "--retention-days", "400"],
        )
    }
}

/// What a load generator's requests got: latencies (µs) of the answers with the expected status,
/// refusals (429, 503: the server's fair-share answers), other 5xx, and anything else (other statuses,
/// transport errors). Shared by the `soak` and `hostile-bench` benchmarks.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies_us: Vec<u64>,
    pub refused: usize,
    pub server_errors: usize,
    pub other_errors: usize,
}

impl Tally {
    /// Sends `request`, reads the whole answer, and counts it.
    pub async fn send(&mut self, request: reqwest::RequestBuilder, ok: u16) {
        let started = Instant::now();
        let status = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                Some(status)
            }
            Err(_) => None,
        };
        match status {
            Some(s) if s == ok => self.latencies_us.push(started.elapsed().as_micros() as u64),
            Some(429 | 503) => self.refused += 1,
            Some(s) if s >= 500 => self.server_errors += 1,
            _ => self.other_errors += 1,
        }
    }

    /// Adds `other`'s counts to these.
    pub fn absorb(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.refused += other.refused;
        self.server_errors += other.server_errors;
        self.other_errors += other.other_errors;
    }

    /// The `p` quantile of the latencies (nearest rank), in ms; NaN when there are none.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        self.latencies_us.sort_unstable();
        match self.latencies_us.len() {
            0 => f64::NAN,
            n => self.latencies_us[((n - 1) as f64 * p).round() as usize] as f64 / 1000.0,
        }
    }
}

/// The number after `name` on the command line (`--seconds 30`), or `default`.
pub fn flag(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
