//! The lake is open: DuckDB's own SQL and ClickHouse (chDB) read the batch objects straight from the
//! lake layout, by the documented view rules, and count the same views per tenant as Tapemetric's API.
//! (tests/lake_sql_check.py holds the two engines' SQL; scripts/setup.sh installs them in a venv.)

use lake_gen::Config;
use pipeline_tests::{rollup_cli, GeneratedLake};
use serde_json::Value;

#[test]
fn duckdb_and_clickhouse_count_the_apis_views_from_the_raw_lake() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 5,
        tenants: vec!["acme".into(), "globex".into()],
        events: 30_000,
        days: 5,
        now_ms,
        contents: 5,
        viewers: 100,
        object_events: 500,
        keep_truth: false,
        store_user_agent: vec!["globex".into()],
    });
    fixture.ingest();
    let server = fixture.serve();
    let (db, lake_arg) = (&fixture.db, &fixture.lake);
    let python = std::env::var("TAPEMETRIC_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/tapemetric/venv/bin/python")
    });
    for tenant in ["acme", "globex"] {
        let token = rollup_cli(db, &["token", "--tenant", tenant]);
        let rows: Value = reqwest::blocking::Client::new()
            .get(format!("{}/data/views/query", server.base_url))
            .bearer_auth(token)
            .send()
            .and_then(|r| r.json())
            .expect("API answer");
        let api = rows[0]["viewCount"].as_i64().expect("views");
        let output = std::process::Command::new(&python)
            .current_dir(pipeline_tests::repo_root())
            .args(["tests/lake_sql_check.py", lake_arg, tenant])
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
