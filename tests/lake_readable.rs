//! The lake is open: DuckDB's own SQL and ClickHouse (chDB) read the batch objects straight from the
//! lake layout, by the documented view rules, and count the same views per tenant as Tapemetric's API.
//! (tests/lake_sql_check.py holds the two engines' SQL; scripts/setup.sh installs them in a venv.)

use lake_gen::Config;
use pipeline_tests::{rollup_cli, start_rollup_server_with};
use serde_json::Value;

#[test]
fn duckdb_and_clickhouse_count_the_apis_views_from_the_raw_lake() {
    let work = tempfile::tempdir().expect("temp dir");
    let lake = work.path().join("lake");
    let db = work.path().join("tapemetric.duckdb");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    lake_gen::generate(
        &Config {
            seed: 5,
            tenants: vec!["acme".into(), "globex".into()],
            events: 30_000,
            days: 5,
            now_ms,
            contents: 5,
            viewers: 100,
            object_events: 500,
            keep_truth: false,
        },
        &lake,
    )
    .expect("generate");
    let lake_arg = lake.to_string_lossy().into_owned();
    rollup_cli(&db, &["--lake-dir", &lake_arg, "ingest", "--once"]);
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let server =
        start_rollup_server_with(&db, "http://127.0.0.1:9", &logs, &["--lake-dir", &lake_arg]);
    let python = std::env::var("TAPEMETRIC_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/tapemetric/venv/bin/python")
    });
    for tenant in ["acme", "globex"] {
        let token = rollup_cli(&db, &["token", "--tenant", tenant]);
        let rows: Value = reqwest::blocking::Client::new()
            .get(format!("{}/data/views/query", server.base_url))
            .bearer_auth(token)
            .send()
            .and_then(|r| r.json())
            .expect("API answer");
        let api = rows[0]["viewCount"].as_i64().expect("views");
        let output = std::process::Command::new(&python)
            .current_dir(pipeline_tests::repo_root())
            .args(["tests/lake_sql_check.py", &lake_arg, tenant])
            .output()
            .expect("python (scripts/setup.sh makes the venv)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let engines: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert!(api > 100, "{tenant}: a real number of views ({api})");
        assert_eq!(
            engines["duckdb"].as_i64(),
            Some(api),
            "{tenant}: DuckDB's SQL on the lake"
        );
        assert_eq!(
            engines["chdb"].as_i64(),
            Some(api),
            "{tenant}: ClickHouse (chDB) on the lake"
        );
    }
}
