//! mave-compatible queries over the `views` table: plays per interval (with browser, device type and
//! platform counts), engagement per range of the media timeline, and plays per source page.
//! A play is a view whose watched time is at least `minimum_watch_seconds`.
//! Request values are bound parameters; every SQL fragment is a constant chosen by an enum.

use duckdb::{params_from_iter, Connection};
use serde_json::{json, Map, Value};

/// A calendar unit of an interval or timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// An amount of time such as `1 day` or `12 months`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub count: i64,
    pub unit: SpanUnit,
}

impl Span {
    /// Parses `<n> <unit>` (`minute`, `hour`, `day`, `week`, `month`, `year`, singular or plural);
    /// the error says what is accepted.
    pub fn parse(name: &str, text: &str) -> Result<Span, String> {
        let bad = || {
            format!(
                "`{name}` must look like `1 day` or `12 months` (units: minute, hour, day, week, month, year); got `{text}`"
            )
        };
        let mut parts = text.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let count: i64 = count.parse().map_err(|_| bad())?;
        if !(1..=100_000).contains(&count) {
            return Err(format!(
                "`{name}` must be between 1 and 100000 units; got `{text}`"
            ));
        }
        let unit = match unit.to_ascii_lowercase().trim_end_matches('s') {
            "minute" => SpanUnit::Minute,
            "hour" => SpanUnit::Hour,
            "day" => SpanUnit::Day,
            "week" => SpanUnit::Week,
            "month" => SpanUnit::Month,
            "year" => SpanUnit::Year,
            _ => return Err(bad()),
        };
        Ok(Span { count, unit })
    }

    /// The SQL interval expression (a constant) and its one bound number.
    pub(crate) fn sql(self) -> (&'static str, i64) {
        match self.unit {
            SpanUnit::Minute => ("to_minutes(?::BIGINT)", self.count),
            SpanUnit::Hour => ("to_hours(?::BIGINT)", self.count),
            SpanUnit::Day => ("to_days(?::INTEGER)", self.count),
            SpanUnit::Week => ("to_days(?::INTEGER)", self.count * 7),
            SpanUnit::Month => ("to_months(?::INTEGER)", self.count),
            SpanUnit::Year => ("to_years(?::INTEGER)", self.count),
        }
    }
}

/// Which views a mave query covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeframe {
    /// Views started within this span before now.
    Last(Span),
    /// Views started in `[from_ms, to_ms]`.
    Between { from_ms: i64, to_ms: Option<i64> },
}

/// Parameters shared by the mave queries.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaysQuery {
    /// A content id (mave's video `identifier`).
    pub identifier: Option<String>,
    /// Custom props that the view's first event must carry with these exact values.
    pub props: Vec<(String, String)>,
    pub interval: Span,
    pub timeframe: Timeframe,
    pub minimum_watch_ms: i64,
}

impl Default for PlaysQuery {
    /// mave's defaults: 12-month intervals over the last 7 days, plays of at least 1 second.
    fn default() -> PlaysQuery {
        PlaysQuery {
            identifier: None,
            props: Vec::new(),
            interval: Span {
                count: 12,
                unit: SpanUnit::Month,
            },
            timeframe: Timeframe::Last(Span {
                count: 7,
                unit: SpanUnit::Day,
            }),
            minimum_watch_ms: 1_000,
        }
    }
}

/// A built SQL fragment with its parameters in order.
struct Fragment {
    sql: String,
    params: Vec<Box<dyn duckdb::ToSql>>,
}

impl PlaysQuery {
    /// The plays of this query for one tenant, as a subquery over `views` (bots are never in it).
    fn plays(&self, tenant_id: &str, now_ms: i64) -> Fragment {
        let mut sql = String::from(
            "SELECT * FROM views WHERE tenant_id = ? AND watched_ms >= ? AND (? IS NULL OR content_id = ?)",
        );
        let mut params: Vec<Box<dyn duckdb::ToSql>> = vec![
            Box::new(tenant_id.to_string()),
            Box::new(self.minimum_watch_ms),
            Box::new(self.identifier.clone()),
            Box::new(self.identifier.clone()),
        ];
        match &self.timeframe {
            Timeframe::Last(span) => {
                let (interval, n) = span.sql();
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
        for (key, value) in &self.props {
            sql.push_str(" AND json_extract_string(props, ?) = ?");
            params.push(Box::new(format!("$.\"{key}\"")));
            params.push(Box::new(value.clone()));
        }
        Fragment { sql, params }
    }

    /// The interval bucket of a play's start, as epoch milliseconds, and its bound numbers.
    /// Fixed-width intervals are integer arithmetic on `started_ms` (the same buckets as DuckDB's
    /// `time_bucket`, whose origin for them is Monday 2000-01-03; timestamp functions cost more per
    /// view than the rest of the query); months and years go through the calendar.
    fn bucket(&self) -> (String, Vec<i64>) {
        const ORIGIN_MS: i64 = 946_857_600_000;
        let width_ms = match self.interval.unit {
            SpanUnit::Minute => Some(60_000),
            SpanUnit::Hour => Some(3_600_000),
            SpanUnit::Day => Some(86_400_000),
            SpanUnit::Week => Some(7 * 86_400_000),
            SpanUnit::Month | SpanUnit::Year => None,
        };
        match width_ms {
            // Plays start after 2000 (events older than the ingest window are refused), so the
            // integer division rounds down.
            Some(unit) => {
                let width = self.interval.count * unit;
                (
                    format!("(started_ms - {ORIGIN_MS}) // ?::BIGINT * ?::BIGINT + {ORIGIN_MS}"),
                    vec![width, width],
                )
            }
            None => {
                let (interval, n) = self.interval.sql();
                (
                    format!("epoch_ms(time_bucket({interval}, make_timestamp(started_ms * 1000)))"),
                    vec![n],
                )
            }
        }
    }
}

/// A bucket (epoch ms) as mave labels it (`2023-05-02T00:00:00.000000`); applied after grouping.
const LABEL_SQL: &str = "strftime(make_timestamp(bucket * 1000), '%Y-%m-%dT%H:%M:%S.%f')";

/// mave's browser, device type and platform names, from the UA parser's.
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

/// [`BROWSER_SQL`] in Rust (the view index's plays), as an index into [`BROWSERS`].
pub(crate) fn browser_of(browser: Option<&str>) -> usize {
    let name = match browser.unwrap_or("") {
        "Brave" => "brave",
        b if b == "Edge" || b.starts_with("Edge ") => "edge",
        b if b.starts_with("Opera") => "opera",
        "IE" | "IE Mobile" => "ie",
        b if b.starts_with("Firefox") => "firefox",
        b if b.starts_with("Chrome") || b == "Chromium" || b == "HeadlessChrome" => "chrome",
        b if b.contains("Safari") => "safari",
        _ => "other",
    };
    BROWSERS.iter().position(|n| *n == name).unwrap_or(0)
}

/// [`DEVICE_SQL`] in Rust, as an index into [`DEVICE_TYPES`].
pub(crate) fn device_type_of(device_type: Option<&str>) -> usize {
    let name = match device_type.unwrap_or("") {
        d @ ("desktop" | "mobile" | "tablet") => d,
        _ => "other",
    };
    DEVICE_TYPES.iter().position(|n| *n == name).unwrap_or(0)
}

/// [`PLATFORM_SQL`] in Rust, as an index into [`PLATFORMS`].
pub(crate) fn platform_of(os: Option<&str>) -> usize {
    let name = match os.unwrap_or("") {
        "Android" => "android",
        "iOS" | "iPadOS" => "ios",
        "Mac OS X" | "macOS" => "mac",
        "Windows" => "windows",
        "Linux" | "Ubuntu" | "Debian" | "Fedora" | "Chrome OS" | "ChromeOS" => "linux",
        _ => "other",
    };
    PLATFORMS.iter().position(|n| *n == name).unwrap_or(0)
}

pub(crate) const BROWSERS: [&str; 8] = [
    "brave", "chrome", "edge", "firefox", "ie", "opera", "other", "safari",
];
pub(crate) const DEVICE_TYPES: [&str; 4] = ["desktop", "mobile", "other", "tablet"];
pub(crate) const PLATFORMS: [&str; 6] = ["android", "ios", "linux", "mac", "other", "windows"];

fn counts_sql(column: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("count(*) FILTER (WHERE {column} = '{n}')"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/api/v1/plays`: per interval, plays, their total watched seconds, and counts per browser, device
/// type and platform.
pub fn plays(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    now_ms: i64,
) -> Result<Vec<Value>, duckdb::Error> {
    let (bucket, n) = query.bucket();
    let plays = query.plays(tenant_id, now_ms);
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
    let mut params: Vec<Box<dyn duckdb::ToSql>> = n
        .into_iter()
        .map(|n| Box::new(n) as Box<dyn duckdb::ToSql>)
        .collect();
    params.extend(plays.params);
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
pub fn sources(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    now_ms: i64,
) -> Result<Vec<SourceRow>, duckdb::Error> {
    let (bucket, n) = query.bucket();
    let plays = query.plays(tenant_id, now_ms);
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
    let mut params: Vec<Box<dyn duckdb::ToSql>> = n
        .into_iter()
        .map(|n| Box::new(n) as Box<dyn duckdb::ToSql>)
        .collect();
    params.extend(plays.params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut label = (i64::MIN, String::new());
    let mut rows = stmt.query(params_from_iter(params.iter().map(|p| p.as_ref())))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let bucket: i64 = row.get(0)?;
        if label.0 != bucket {
            label = (bucket, bucket_label(bucket));
        }
        let path: String = row.get(1)?;
        out.push(SourceRow {
            host: host_of(&path).to_string(),
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
pub struct SourceRow {
    pub host: String,
    pub interval: String,
    pub path: String,
    pub views: i64,
}

/// A bucket (epoch ms, UTC) as mave labels it: `2023-05-02T00:00:00.000000`.
pub(crate) fn bucket_label(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The host of a source URL as `regexp_extract(url, '^[^:]+://([^/]+)', 1)` gives it: the text after
/// the first `://` up to the next `/`, when a scheme comes first; else empty.
pub(crate) fn host_of(url: &str) -> &str {
    let Some(colon) = url.find(':') else {
        return "";
    };
    match url[colon..].strip_prefix("://") {
        Some(rest) if colon > 0 => rest.split('/').next().unwrap_or(""),
        _ => "",
    }
}

/// `/api/v1/engagement`: the media timeline (the longest known duration of the selected content, else
/// the furthest played second) cut into `ranges` equal ranges, and per range the plays that played
/// any part of it.
pub fn engagement(
    conn: &Connection,
    tenant_id: &str,
    query: &PlaysQuery,
    ranges: u32,
    now_ms: i64,
) -> Result<Vec<Value>, duckdb::Error> {
    let plays = query.plays(tenant_id, now_ms);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_bad_ones_are_named() {
        assert_eq!(
            Span::parse("interval", "1 day"),
            Ok(Span {
                count: 1,
                unit: SpanUnit::Day
            })
        );
        assert_eq!(
            Span::parse("interval", "12 Months"),
            Ok(Span {
                count: 12,
                unit: SpanUnit::Month
            })
        );
        for bad in ["day", "1", "one day", "1 fortnight", "0 days", "1 day ago"] {
            let err = Span::parse("interval", bad).expect_err(bad);
            assert!(err.contains("`interval`"), "{err}");
        }
    }

    #[test]
    fn integer_buckets_equal_time_bucket() {
        let conn = Connection::open_in_memory().expect("duckdb");
        conn.execute_batch("CREATE TABLE t (started_ms BIGINT)")
            .expect("table");
        for ms in crate::metrics::tests::sample_instants() {
            conn.execute("INSERT INTO t VALUES (?)", [ms]).expect("row");
        }
        for (text, interval) in [
            ("1 minute", "INTERVAL 1 MINUTE"),
            ("7 minutes", "INTERVAL 7 MINUTE"),
            ("1 hour", "INTERVAL 1 HOUR"),
            ("5 hours", "INTERVAL 5 HOUR"),
            ("1 day", "INTERVAL 1 DAY"),
            ("3 days", "INTERVAL 3 DAY"),
            ("2 weeks", "INTERVAL 14 DAY"),
            ("1 month", "INTERVAL 1 MONTH"),
            ("1 year", "INTERVAL 1 YEAR"),
        ] {
            let query = PlaysQuery {
                interval: Span::parse("interval", text).expect("span"),
                ..PlaysQuery::default()
            };
            let (bucket, params) = query.bucket();
            let sql = format!(
                "SELECT count(*) FROM t
                 WHERE {bucket} <> epoch_ms(time_bucket({interval}, make_timestamp(started_ms * 1000)))"
            );
            let wrong: i64 = conn
                .query_row(&sql, params_from_iter(params), |r| r.get(0))
                .expect("query");
            assert_eq!(wrong, 0, "{text}");
        }
    }

    #[test]
    fn labels_and_hosts_match_duckdbs() {
        let conn = Connection::open_in_memory().expect("duckdb");
        for ms in crate::metrics::tests::sample_instants() {
            let sql: String = conn
                .query_row(
                    "SELECT strftime(make_timestamp(?::BIGINT * 1000), '%Y-%m-%dT%H:%M:%S.%f')",
                    [ms],
                    |r| r.get(0),
                )
                .expect("strftime");
            assert_eq!(bucket_label(ms), sql, "{ms}");
        }
        for url in [
            "https://tv.example/watch/1",
            "http://a.b:8080/x?y",
            "https://host.only",
            "https:///no-host",
            "://no-scheme/x",
            "no scheme at all",
            "mailto:someone@example.com",
            "a:b://c/d",
            "",
            "https://ünï.example/é",
        ] {
            let sql: String = conn
                .query_row(
                    "SELECT regexp_extract(?, '^[^:]+://([^/]+)', 1)",
                    [url],
                    |r| r.get(0),
                )
                .expect("regexp");
            assert_eq!(host_of(url), sql, "{url}");
        }
    }
}
