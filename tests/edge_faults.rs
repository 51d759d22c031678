//! The rollup server facing a sick edge: an edge that accepts connections and never answers makes a
//! pull fail within the configured timeout, with a message that says so, and leaves the database as it
//! was (the next pull starts clean).

use pipeline_tests::{rollup_cli, rollup_command};
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[test]
fn an_edge_that_never_answers_fails_the_pull_in_time_and_changes_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let db = work.path().join("tapemetric.duckdb");
    // Accepts (the kernel completes the handshake) but never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let edge = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let output = rollup_command(&db, &edge)
        .args(["--edge-timeout-s", "2", "ingest", "--once"])
        .output()
        .expect("ingest");
    let took = started.elapsed();
    drop(listener);
    assert!(!output.status.success(), "the pull must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not be reached") && stderr.contains("timed out"),
        "the error says the edge timed out: {stderr}"
    );
    assert!(took < Duration::from_secs(20), "gave up after {took:?}");
    // Nothing half-done: the database opens and holds nothing.
    let stats = rollup_cli(&db, &["stats"]);
    assert!(stats.contains("\"tenants\": {}"), "{stats}");
}
