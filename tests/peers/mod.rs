//! The peers of `peer-bench`: PostgreSQL 15 (the store behind mave) and ClickHouse through chDB (the
//! store behind Plausible, PostHog and Livepeer), each loading the same lake and answering the same
//! dashboard queries as Tapemetric, with their own SQL (postgres.sql, clickhouse.sql here).

pub mod answers;
pub mod chdb;
pub mod memory;
pub mod postgres;

use std::collections::HashMap;

/// The sections of a peer's SQL file: the text after each `-- name: <section>` line, by name.
pub fn sql_sections(sql: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut current: Option<(String, String)> = None;
    for line in sql.lines() {
        if let Some(name) = line.strip_prefix("-- name: ") {
            out.extend(current.take());
            current = Some((name.trim().to_string(), String::new()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_files_split_into_named_sections() {
        let sections = sql_sections("-- header\n-- name: a\nSELECT 1;\n-- name: b\nSELECT\n  2;\n");
        assert_eq!(sections["a"], "SELECT 1;\n");
        assert_eq!(sections["b"], "SELECT\n  2;\n");
        assert_eq!(sections.len(), 2);
    }

    #[test]
    fn both_peers_answer_every_dashboard_query() {
        for sql in [postgres::SQL, chdb::SQL] {
            let sections = sql_sections(sql);
            for name in [
                "views_by_day_country",
                "qoe_by_day_content",
                "plays_by_day",
                "engagement",
                "sources_by_day",
                "viewers_by_country",
                "schema",
                "build_views",
            ] {
                assert!(sections.contains_key(name), "{name}");
            }
        }
    }
}
