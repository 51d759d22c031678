//! ClickHouse (chDB, ClickHouse's engine as a Python module) as a peer: tests/peers/chdb_bench.py
//! loads the lake with ClickHouse's own gzip NDJSON reader into MergeTree tables and answers the
//! dashboard queries with tests/peers/clickhouse.sql, in the venv that scripts/setup.sh makes. The
//! load runs in its own process so that its peak memory can be read.

use super::answers::Rows;
use pipeline_tests::rollup_run::{peak_mb, timed_command};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The SQL of the ClickHouse side (chdb_bench.py reads the file itself).
#[cfg(test)]
pub const SQL: &str = include_str!("clickhouse.sql");

fn python() -> PathBuf {
    std::env::var("TAPEMETRIC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_default();
            PathBuf::from(format!("{home}/.cache/tapemetric/venv/bin/python"))
        })
}

fn script() -> PathBuf {
    pipeline_tests::repo_root().join("tests/peers/chdb_bench.py")
}

/// What the load did.
pub struct LoadFigures {
    /// Process start to exit: lake to queryable views.
    pub load_s: f64,
    /// Of which building the views.
    pub build_s: f64,
    pub events: u64,
    pub peak_mb: Option<f64>,
}

/// Loads `lake` into a new chDB session directory `session`.
pub fn load(session: &Path, lake: &Path) -> anyhow::Result<LoadFigures> {
    let started = Instant::now();
    let out = timed_command(&python())
        .arg(script())
        .arg("load")
        .arg(session)
        .arg(lake)
        .output()?;
    let load_s = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(out.status.success(), "chDB load failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)?;
    Ok(LoadFigures {
        load_s,
        build_s: report["build_s"].as_f64().unwrap_or(0.0),
        events: report["events"].as_u64().unwrap_or(0),
        peak_mb: peak_mb(&stderr),
    })
}

/// Runs each query (section name and its parameters) once untimed, then `runs` times timed; per query,
/// the first answer's rows and the timed runs in ms.
pub fn query(
    session: &Path,
    runs: usize,
    queries: &[(&str, Value)],
) -> anyhow::Result<Vec<(Rows, Vec<f64>)>> {
    let request: serde_json::Map<String, Value> = queries
        .iter()
        .map(|(name, params)| ((*name).to_string(), params.clone()))
        .collect();
    let out = Command::new(python())
        .arg(script())
        .arg("query")
        .arg(session)
        .arg(runs.to_string())
        .arg(Value::Object(request).to_string())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "chDB query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    Ok(queries
        .iter()
        .map(|(name, _)| {
            let result = &answer[*name];
            let rows = result["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.as_array().cloned().unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            let times = result["ms"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            (rows, times)
        })
        .collect())
}
