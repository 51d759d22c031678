//! One shape for the answers of the three systems, and their comparison. An answer is a list of rows;
//! a row is the group's key columns, then its figures, in the column order of the peers' SQL
//! (tests/peers/*.sql). Tapemetric's JSON answers are turned into the same rows here.

use serde_json::Value;

/// Rows of an answer.
pub type Rows = Vec<Vec<Value>>;

/// How many leading columns of a query's rows are the group's key.
pub fn key_columns(section: &str) -> usize {
    match section {
        "views_by_day_country" | "sources_by_day" => 2,
        _ => 1,
    }
}

/// The Livepeer metrics of a row, in the peers' column order.
const METRICS: [&str; 8] = [
    "viewCount",
    "uniqueViewers",
    "playtimeMins",
    "ttffMs",
    "ttffP95Ms",
    "rebufferRatio",
    "errorRate",
    "exitsBeforeStart",
];
/// mave's count groups of a plays row, in the peers' column order.
const PLAYS_GROUPS: [(&str, &[&str]); 3] = [
    (
        "browser",
        &[
            "brave", "chrome", "edge", "firefox", "ie", "opera", "other", "safari",
        ],
    ),
    ("device_type", &["desktop", "mobile", "other", "tablet"]),
    (
        "platform",
        &["android", "ios", "linux", "mac", "other", "windows"],
    ),
];

fn list<'a>(answer: &'a Value, field: Option<&str>) -> &'a [Value] {
    let value = field.map_or(answer, |f| &answer[f]);
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Tapemetric's JSON answer to the dashboard query that `section` names, as rows.
pub fn ours(section: &str, answer: &Value) -> Rows {
    let metrics = |keys: &[&str]| -> Rows {
        list(answer, None)
            .iter()
            .map(|r| {
                keys.iter()
                    .chain(METRICS.iter())
                    .map(|k| r.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect()
    };
    match section {
        "views_by_day_country" => metrics(&["country", "timestamp"]),
        "qoe_by_day_content" => metrics(&["timestamp"]),
        "viewers_by_country" => metrics(&["country"]),
        "plays_by_day" => list(answer, Some("views"))
            .iter()
            .map(|r| {
                let mut row = vec![
                    r["interval"].clone(),
                    r["views"].clone(),
                    r["total_view_time"].clone(),
                ];
                for (group, names) in PLAYS_GROUPS {
                    row.extend(names.iter().map(|n| r[group][*n].clone()));
                }
                row
            })
            .collect(),
        "engagement" => list(answer, Some("engagement"))
            .iter()
            .map(|r| {
                vec![
                    r["range"].clone(),
                    r["range_time"]["from"].clone(),
                    r["range_time"]["to"].clone(),
                    r["viewers"].clone(),
                ]
            })
            .collect(),
        "sources_by_day" => list(answer, Some("sources"))
            .iter()
            .map(|r| {
                vec![
                    r["interval"].clone(),
                    r["path"].clone(),
                    r["host"].clone(),
                    r["views"].clone(),
                ]
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A value as a number, when it is one (engines may send 64-bit integers as JSON strings; NaN, which
/// ClickHouse answers for a quantile of nothing, counts as no value).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn is_null(value: &Value) -> bool {
    value.is_null() || number(value).is_some_and(f64::is_nan) || value == "nan"
}

/// Whether two cells are the same answer: equal text, or numbers within a relative 1e-9 (engines
/// sum and divide in different orders).
fn same(a: &Value, b: &Value) -> bool {
    if is_null(a) || is_null(b) {
        return is_null(a) && is_null(b);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) if x == y => true,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => a == b,
        },
    }
}

/// A cell as sortable text (integers written alike whatever the engine sent).
fn key_text(value: &Value) -> String {
    match number(value) {
        Some(n) => format!("{n:030.6}"),
        None => value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string),
    }
}

/// `rows` ordered by their key columns (engines order ties differently).
pub fn sorted(mut rows: Rows, keys: usize) -> Rows {
    rows.sort_by_cached_key(|r| r.iter().take(keys).map(key_text).collect::<Vec<_>>());
    rows
}

/// None when `theirs` gives the same answer as `ours`; else a readable account of the first
/// differences.
pub fn diff(section: &str, ours: &Rows, theirs: &Rows) -> Option<String> {
    let keys = key_columns(section);
    let (a, b) = (sorted(ours.clone(), keys), sorted(theirs.clone(), keys));
    let mut out = Vec::new();
    if a.len() != b.len() {
        out.push(format!("{} rows against {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let equal = x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q));
        if !equal {
            out.push(format!(
                "row {i}:\n      ours   {}\n      theirs {}",
                Value::from(x.clone()),
                Value::from(y.clone())
            ));
        }
        if out.len() >= 5 {
            break;
        }
    }
    if out.is_empty() && a.len() == b.len() {
        None
    } else {
        Some(out.join("\n    "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tapemetric_metrics_become_key_then_figures_with_missing_ttff_as_null() {
        let answer = json!([{"country": "DE", "timestamp": 86_400_000, "viewCount": 2, "uniqueViewers": 1,
            "playtimeMins": 0.5, "rebufferRatio": 0.0, "errorRate": 0.5, "exitsBeforeStart": 0.0}]);
        assert_eq!(
            ours("views_by_day_country", &answer),
            vec![vec![
                json!("DE"),
                json!(86_400_000),
                json!(2),
                json!(1),
                json!(0.5),
                Value::Null,
                Value::Null,
                json!(0.0),
                json!(0.5),
                json!(0.0)
            ]]
        );
    }

    #[test]
    fn same_answers_in_another_order_and_number_form_are_equal() {
        let ours = vec![
            vec![json!("US"), json!(3), json!(0.1 + 0.2)],
            vec![json!("DE"), json!(2), Value::Null],
        ];
        let theirs = vec![
            vec![json!("DE"), json!("2"), json!("nan")],
            vec![json!("US"), json!(3.0), json!(0.3)],
        ];
        assert_eq!(diff("viewers_by_country", &ours, &theirs), None);
    }

    #[test]
    fn a_different_figure_or_a_missing_row_is_named() {
        let ours = vec![vec![json!("DE"), json!(2)], vec![json!("US"), json!(3)]];
        let off_by_one = vec![vec![json!("DE"), json!(2)], vec![json!("US"), json!(4)]];
        let report = diff("viewers_by_country", &ours, &off_by_one).expect("a difference");
        assert!(
            report.contains("row 1") && report.contains("[\"US\",4]"),
            "{report}"
        );
        let missing = vec![vec![json!("DE"), json!(2)]];
        let report = diff("viewers_by_country", &ours, &missing).expect("a difference");
        assert!(report.contains("2 rows against 1"), "{report}");
    }
}
