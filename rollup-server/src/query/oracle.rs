//! The metrics again, in SQL over the same `views` table, for the tests only: DuckDB computes each
//! answer independently of the in-memory code (its `quantile_cont`, `date_trunc`, `time_bucket`,
//! `strftime`, `json_extract_string`), and the tests compare the two to the last bit on generated
//! views. The product answers from [`crate::query`] alone.

use super::params::{MetricsQuery, PlaysQuery, Span, SpanUnit, TimeStep, Timeframe};
use duckdb::{params_from_iter, Connection};
use serde_json::{json, Map, Value};

const BROWSERS: [&str; 8] = super::mave::BROWSERS;
const DEVICE_TYPES: [&str; 4] = super::mave::DEVICE_TYPES;
const PLATFORMS: [&str; 6] = super::mave::PLATFORMS;

fn number(x: f64) -> Value {
    super::params::number(x)
}

/// A time step's bucket of `started_ms`, on DuckDB's calendar.
fn bucket_sql(step: TimeStep) -> String {
    format!(
        "epoch_ms(date_trunc('{}', make_timestamp(started_ms * 1000)))",
        sql_unit(step)
    )
}

fn sql_unit(step: TimeStep) -> &'static str {
    match step {
        TimeStep::Hour => "hour",
        TimeStep::Day => "day",
        TimeStep::Week => "week",
        TimeStep::Month => "month",
        TimeStep::Year => "year",
    }
}

/// A mave interval's bucket of `started_ms`: DuckDB's `time_bucket`, and its bound number.
fn play_bucket_sql(interval: Span) -> (String, Vec<i64>) {
    let (sql, n) = span_sql(interval);
    (
        format!("epoch_ms(time_bucket({sql}, make_timestamp(started_ms * 1000)))"),
        vec![n],
    )
}

/// The SQL interval expression (a constant) and its one bound number.
pub(super) fn span_sql(span: Span) -> (&'static str, i64) {
    match span.unit {
        SpanUnit::Minute => ("to_minutes(?::BIGINT)", span.count),
        SpanUnit::Hour => ("to_hours(?::BIGINT)", span.count),
        SpanUnit::Day => ("to_days(?::INTEGER)", span.count),
        SpanUnit::Week => ("to_days(?::INTEGER)", span.count * 7),
        SpanUnit::Month => ("to_months(?::INTEGER)", span.count),
        SpanUnit::Year => ("to_years(?::INTEGER)", span.count),
    }
}

/// The WHERE clause over `views` for this query's tenant, window, content and filters, with its
/// bound parameters (SQL fragments are constants; values are parameters).
fn where_clause(query: &MetricsQuery, tenant_id: &str) -> (String, Vec<Box<dyn duckdb::ToSql>>) {
    let mut sql = String::from(
        "WHERE tenant_id = ?
               AND (? IS NULL OR content_id = ?)
               AND (? IS NULL OR started_ms >= ?)
               AND (? IS NULL OR started_ms < ?)",
    );
    let mut params: Vec<Box<dyn duckdb::ToSql>> = vec![
        Box::new(tenant_id.to_string()),
        Box::new(query.content_id.clone()),
        Box::new(query.content_id.clone()),
        Box::new(query.from_ms),
        Box::new(query.from_ms),
        Box::new(query.to_ms),
        Box::new(query.to_ms),
    ];
    for (dimension, value) in &query.filters {
        sql.push_str(&format!(" AND {} = ?", dimension.column()));
        params.push(Box::new(value.clone()));
    }
    (sql, params)
}

/// The metrics of every group, as Livepeer's `ViewershipMetric` objects.
pub(super) fn view_metrics(
    conn: &Connection,
    tenant_id: &str,
    query: &MetricsQuery,
) -> Result<Vec<Map<String, Value>>, duckdb::Error> {
    let mut groups: Vec<String> = query
        .breakdown
        .iter()
        .map(|d| d.column().to_string())
        .collect();
    if let Some(step) = query.time_step {
        groups.push(bucket_sql(step));
    }
    let select_groups = if groups.is_empty() {
        String::new()
    } else {
        format!("{}, ", groups.join(", "))
    };
    let positions = (1..=groups.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (group_by, order) = if groups.is_empty() {
        (String::new(), "1".to_string())
    } else {
        (format!("GROUP BY {positions}"), positions)
    };
    let (where_sql, params) = where_clause(query, tenant_id);
    // The metric definitions (docs/api.md states the same in words).
    let sql = format!(
        "SELECT {select_groups}
            count(*) AS view_count,
            count(DISTINCT viewer_id) AS unique_viewers,
            (sum(watched_ms) / 60000.0)::DOUBLE AS playtime_mins,
            (quantile_cont(ttff_ms, [0.5, 0.95]) FILTER (WHERE reached_first_frame))::DOUBLE[] AS ttff_ms,
            coalesce(sum(rebuffer_ms)::DOUBLE / nullif(sum(watched_ms) + sum(rebuffer_ms), 0), 0)::DOUBLE AS rebuffer_ratio,
            (count(*) FILTER (WHERE fatal_error) / count(*))::DOUBLE AS error_rate,
            (count(*) FILTER (WHERE NOT reached_first_frame AND NOT fatal_error) / count(*))::DOUBLE AS exits_before_start
         FROM views
         {where_sql}
         {group_by}
         ORDER BY {order}",
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let dims = query.breakdown.clone();
    let has_step = query.time_step.is_some();
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|p| p.as_ref())), |row| {
            let mut out = Map::new();
            for (i, d) in dims.iter().enumerate() {
                // Livepeer's fields are optional: an unknown value is left out, never null.
                if let Some(v) = row.get::<_, Option<String>>(i)? {
                    out.insert(d.api_name().into(), Value::String(v));
                }
            }
            let mut i = dims.len();
            if has_step {
                if let Some(ts) = row.get::<_, Option<i64>>(i)? {
                    out.insert("timestamp".into(), Value::from(ts));
                }
                i += 1;
            }
            let count: i64 = row.get(i)?;
            let unique_viewers: i64 = row.get(i + 1)?;
            let playtime: Option<f64> = row.get(i + 2)?;
            let (ttff, ttff_p95) = quantile_pair(row.get_ref(i + 3)?);
            let rebuffer: Option<f64> = row.get(i + 4)?;
            let errors: Option<f64> = row.get(i + 5)?;
            let exits: Option<f64> = row.get(i + 6)?;
            out.insert("viewCount".into(), Value::from(count));
            out.insert("uniqueViewers".into(), Value::from(unique_viewers));
            out.insert("playtimeMins".into(), number(playtime.unwrap_or(0.0)));
            // No view reached its first frame: no TTFF (left out, as Livepeer does).
            if let (Some(p50), Some(p95)) = (ttff, ttff_p95) {
                out.insert("ttffMs".into(), number(p50));
                out.insert("ttffP95Ms".into(), number(p95));
            }
            out.insert("rebufferRatio".into(), number(rebuffer.unwrap_or(0.0)));
            out.insert("errorRate".into(), number(errors.unwrap_or(0.0)));
            out.insert("exitsBeforeStart".into(), number(exits.unwrap_or(0.0)));
            Ok(out)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // An empty tenant has no rows at all rather than one row of zeros (DuckDB answers an ungrouped
    // aggregate over nothing with one row).
    Ok(rows
        .into_iter()
        .filter(|r| r.get("viewCount").and_then(Value::as_i64) != Some(0))
        .collect())
}

/// Peak concurrency per time bucket: the most sessions (a view without a session counts as its own)
/// watching in any one minute of the bucket, a view counting in every minute from its first to its last
/// event. Views are selected as in [`view_metrics`] (content, filters) and by overlap with the window.
pub(super) fn concurrency_peaks(
    conn: &Connection,
    tenant_id: &str,
    query: &MetricsQuery,
) -> Result<Vec<Map<String, Value>>, duckdb::Error> {
    let step = query.time_step.unwrap_or(TimeStep::Hour);
    let windowless = MetricsQuery {
        from_ms: None,
        to_ms: None,
        ..query.clone()
    };
    let (where_sql, mut params) = where_clause(&windowless, tenant_id);
    let sql = format!(
        "WITH spans AS (
             SELECT coalesce(session_id, view_id) AS who, started_ms // 60000 AS m0, last_ms // 60000 AS m1
             FROM views {where_sql}
               AND (? IS NULL OR last_ms >= ?) AND (? IS NULL OR started_ms < ?)
         ),
         minutes AS (SELECT DISTINCT who, unnest(range(m0, m1 + 1)) AS m FROM spans),
         per_minute AS (SELECT m, count(*) AS watching FROM minutes GROUP BY m)
         SELECT epoch_ms(date_trunc('{unit}', make_timestamp(m * 60000 * 1000))) AS bucket, max(watching)
         FROM per_minute
         WHERE (? IS NULL OR m >= ? // 60000) AND (? IS NULL OR m < ? // 60000)
         GROUP BY bucket ORDER BY bucket",
        unit = sql_unit(step)
    );
    for _ in 0..2 {
        for value in [query.from_ms, query.from_ms, query.to_ms, query.to_ms] {
            params.push(Box::new(value));
        }
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|p| p.as_ref())), |row| {
            let mut out = Map::new();
            out.insert("timestamp".into(), Value::from(row.get::<_, i64>(0)?));
            out.insert("concurrentPeak".into(), Value::from(row.get::<_, i64>(1)?));
            Ok(out)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The two values of a `quantile_cont(x, [0.5, 0.95])` list (None when no value was aggregated).
fn quantile_pair(value: duckdb::types::ValueRef<'_>) -> (Option<f64>, Option<f64>) {
    let duckdb::types::Value::List(items) = value.to_owned() else {
        return (None, None);
    };
    let at = |i: usize| match items.get(i) {
        Some(duckdb::types::Value::Double(x)) => Some(*x),
        _ => None,
    };
    (at(0), at(1))
}

/// A built SQL fragment with its parameters in order.
struct Fragment {
    sql: String,
    params: Vec<Box<dyn duckdb::ToSql>>,
}

/// The plays of this query for one tenant, as a subquery over `views` (bots are never in it).
fn plays_fragment(query: &PlaysQuery, tenant_id: &str, now_ms: i64) -> Fragment {
    let mut sql = String::from(
            "SELECT * FROM views WHERE tenant_id = ? AND watched_ms >= ? AND (? IS NULL OR content_id = ?)",
        );
    let mut params: Vec<Box<dyn duckdb::ToSql>> = vec![
        Box::new(tenant_id.to_string()),
        Box::new(query.minimum_watch_ms),
        Box::new(query.identifier.clone()),
        Box::new(query.identifier.clone()),
    ];
    match &query.timeframe {
        Timeframe::Last(span) => {
            let (interval, n) = span_sql(*span);
            sql.push_str(&format!(
                " AND started_ms >= epoch_ms(make_timestamp(?::BIGINT * 1000) - {interval})"
            ));
            params.push(Box::new(now_ms));
            params.push(Box::new(n));
        }
        Timeframe::Between { from_ms, to_ms } => {
            sql.push_str(" AND started_ms >= ? AND (? IS NULL OR started_ms <= ?)");
            params.push(Box::new(*from_ms));
            params.push(Box::new(*to_ms));
            params.push(Box::new(*to_ms));
        }
    }
    for (key, value) in &query.props {
        sql.push_str(" AND json_extract_string(props, ?) = ?");
        params.push(Box::new(format!("$.\"{key}\"")));
        params.push(Box::new(value.clone()));
    }
    Fragment { sql, params }
}

/// A bucket (epoch ms) as mave labels it (`2023-05-02T00:00:00.000000`); applied after grouping.
const LABEL_SQL: &str = "strftime(make_timestamp(bucket * 1000), '%Y-%m-%dT%H:%M:%S.%f')";

const BROWSER_SQL: &str = "CASE
    WHEN browser = 'Brave' THEN 'brave'
    WHEN browser = 'Edge' OR browser LIKE 'Edge %' THEN 'edge'
    WHEN browser LIKE 'Opera%' THEN 'opera'
    WHEN browser = 'IE' OR browser = 'IE Mobile' THEN 'ie'
    WHEN browser LIKE 'Firefox%' THEN 'firefox'
    WHEN browser LIKE 'Chrome%' OR browser = 'Chromium' OR browser = 'HeadlessChrome' THEN 'chrome'
    WHEN browser LIKE '%Safari%' THEN 'safari'
    ELSE 'other' END";
const DEVICE_SQL: &str =
    "CASE WHEN device_type IN ('desktop', 'mobile', 'tablet') THEN device_type ELSE 'other' END";
const PLATFORM_SQL: &str = "CASE
    WHEN os = 'Android' THEN 'android'
    WHEN os = 'iOS' OR os = 'iPadOS' THEN 'ios'
    WHEN os = 'Mac OS X' OR os = 'macOS' THEN 'mac'
    WHEN os = 'Windows' THEN 'windows'
    WHEN os IN ('Linux', 'Ubuntu', 'Debian', 'Fedora', 'Chrome OS', 'ChromeOS') THEN 'linux'
    ELSE 'other' END";

/// The bucket's parameters before the plays' own.
fn bucket_first(n: Vec<i64>, plays: Vec<Box<dyn duckdb::ToSql>>) -> Vec<Box<dyn duckdb::ToSql>> {
    let mut params: Vec<Box<dyn duckdb::ToSql>> = n
        .into_iter()
        .map(|n| Box::new(n) as Box<dyn duckdb::ToSql>)
        .collect();
    params.extend(plays);
    params
}

fn counts_sql(column: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("count(*) FILTER (WHERE {column} = '{n}')"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/api/v1/plays`: per interval, plays, their total watched seconds, and counts per browser, device
/// type and platform.
pub(super) fn plays(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    now_ms: i64,
) -> Result<Vec<Value>, duckdb::Error> {
    let (bucket, n) = play_bucket_sql(query.interval);
    let plays = plays_fragment(query, tenant_id, now_ms);
    let sql = format!(
        "SELECT {LABEL_SQL}, * EXCLUDE (bucket) FROM (
             SELECT {bucket} AS bucket, count(*), (sum(watched_ms) / 1000.0)::DOUBLE, {b}, {d}, {p}
             FROM (SELECT *, {BROWSER_SQL} AS b, {DEVICE_SQL} AS d, {PLATFORM_SQL} AS p FROM ({plays})) AS plays
             GROUP BY bucket)
         ORDER BY bucket",
        plays = plays.sql,
        b = counts_sql("b", &BROWSERS),
        d = counts_sql("d", &DEVICE_TYPES),
        p = counts_sql("p", &PLATFORMS),
    );
    let params = bucket_first(n, plays.params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|p| p.as_ref())), |row| {
            let mut col = 3;
            let mut group = |names: &[&str]| -> Result<Map<String, Value>, duckdb::Error> {
                let mut out = Map::new();
                for name in names {
                    out.insert((*name).into(), Value::from(row.get::<_, i64>(col)?));
                    col += 1;
                }
                Ok(out)
            };
            let browser = group(&BROWSERS)?;
            let device_type = group(&DEVICE_TYPES)?;
            let platform = group(&PLATFORMS)?;
            Ok(json!({
                "interval": row.get::<_, String>(0)?,
                "views": row.get::<_, i64>(1)?,
                "total_view_time": row.get::<_, f64>(2)?,
                "browser": browser,
                "device_type": device_type,
                "platform": platform,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// `/api/v1/sources`: plays per interval and source page (URL without query and fragment).
pub(super) fn sources(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    now_ms: i64,
) -> Result<Vec<SourceRow>, duckdb::Error> {
    let (bucket, n) = play_bucket_sql(query.interval);
    let plays = plays_fragment(query, tenant_id, now_ms);
    // Labels and hosts are written in Rust: the answer has a row per day and page (tens of
    // thousands), and DuckDB's strftime and regexp per row cost more than the grouping.
    let sql = format!(
        "SELECT bucket, source, plays FROM (
             SELECT {bucket} AS bucket, source, count(*) AS plays
             FROM ({plays}) AS plays
             WHERE source IS NOT NULL
             GROUP BY bucket, source)
         ORDER BY bucket, plays DESC, source",
        plays = plays.sql,
    );
    let params = bucket_first(n, plays.params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut label = (i64::MIN, String::new());
    let mut rows = stmt.query(params_from_iter(params.iter().map(|p| p.as_ref())))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let bucket: i64 = row.get(0)?;
        if label.0 != bucket {
            label = (bucket, super::time::bucket_label(bucket));
        }
        let path: String = row.get(1)?;
        out.push(SourceRow {
            host: super::mave::host_of(&path).to_string(),
            interval: label.1.clone(),
            path,
            views: row.get(2)?,
        });
    }
    Ok(out)
}

/// One row of `/api/v1/sources`, serialized straight to JSON (as a `serde_json::Value`, a big answer
/// spent most of its time allocating and freeing maps). Fields in mave's (alphabetical) order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(super) struct SourceRow {
    pub host: String,
    pub interval: String,
    pub path: String,
    pub views: i64,
}

/// `/api/v1/engagement`: the media timeline (the longest known duration of the selected content, else
/// the furthest played second) cut into `ranges` equal ranges, and per range the plays that played
/// any part of it.
pub(super) fn engagement(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    ranges: u32,
    now_ms: i64,
) -> Result<Vec<Value>, duckdb::Error> {
    let plays = plays_fragment(query, tenant_id, now_ms);
    let sql = format!(
        "WITH plays AS ({plays}),
         played AS (
             SELECT r.view_id, r.segment, r.from_s, r.to_s
             FROM view_ranges r SEMI JOIN plays p
               ON r.tenant_id = p.tenant_id AND r.view_id = p.view_id AND r.segment = p.segment
         ),
         timeline AS (
             SELECT coalesce((SELECT max(duration_s) FROM plays), (SELECT max(to_s) FROM played)) AS length_s
         ),
         cuts AS (
             SELECT i, i * length_s / ?::DOUBLE AS from_s, (i + 1) * length_s / ?::DOUBLE AS to_s
             FROM timeline, range(?::BIGINT) t(i)
             WHERE length_s > 0
         )
         SELECT c.i, c.from_s, c.to_s,
                count(DISTINCT (p.view_id, p.segment)) FILTER (WHERE p.view_id IS NOT NULL)
         FROM cuts c
         LEFT JOIN played p ON p.from_s < c.to_s AND p.to_s > c.from_s
         GROUP BY c.i, c.from_s, c.to_s
         ORDER BY c.i",
        plays = plays.sql,
    );
    let mut params = plays.params;
    let ranges = i64::from(ranges);
    params.push(Box::new(ranges));
    params.push(Box::new(ranges));
    params.push(Box::new(ranges));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|p| p.as_ref())), |row| {
            Ok(json!({
                "range": row.get::<_, i64>(0)?,
                "range_time": {"from": row.get::<_, f64>(1)?, "to": row.get::<_, f64>(2)?},
                "viewers": row.get::<_, i64>(3)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Views started in `[from, to)` per content, most viewed first.
pub(super) fn views_by_content(
    conn: &Connection,
    tenant_id: &str,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<super::ContentViews>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT content_id, count(*) AS views
         FROM views
         WHERE tenant_id = ? AND content_id IS NOT NULL
           AND started_ms >= coalesce(?, started_ms) AND started_ms < coalesce(?, started_ms + 1)
         GROUP BY content_id
         ORDER BY views DESC, content_id",
    )?;
    let rows = stmt.query_map(duckdb::params![tenant_id, from_ms, to_ms], |row| {
        Ok(super::ContentViews {
            content_id: row.get(0)?,
            views: row.get(1)?,
        })
    })?;
    rows.collect()
}
