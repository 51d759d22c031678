//! View metrics over the `views` table: the one definition of each metric (in SQL, below), grouped by an
//! allow-listed set of dimensions and an optional time step. Request strings never reach the SQL:
//! dimensions and steps are enums whose SQL fragments are constants; values are bound parameters.

use duckdb::{params_from_iter, Connection};
use serde_json::{Map, Value};

/// A dimension to break metrics down by (Livepeer's names, plus Tapemetric's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    ContentId,
    ContentType,
    Browser,
    BrowserEngine,
    Os,
    DeviceType,
    Device,
    Continent,
    Country,
    Subdivision,
    Timezone,
    ViewerId,
    Source,
}

impl Dimension {
    /// Every dimension, in declaration order (`d as usize` is its position here).
    pub const ALL: [Dimension; 13] = [
        Dimension::ContentId,
        Dimension::ContentType,
        Dimension::Browser,
        Dimension::BrowserEngine,
        Dimension::Os,
        Dimension::DeviceType,
        Dimension::Device,
        Dimension::Continent,
        Dimension::Country,
        Dimension::Subdivision,
        Dimension::Timezone,
        Dimension::ViewerId,
        Dimension::Source,
    ];

    /// Every dimension with its API name (the first name is the one answered).
    const NAMES: [(&'static str, Dimension); 14] = [
        ("playbackId", Dimension::ContentId),
        ("contentId", Dimension::ContentId),
        ("contentType", Dimension::ContentType),
        ("browser", Dimension::Browser),
        ("browserEngine", Dimension::BrowserEngine),
        ("os", Dimension::Os),
        ("deviceType", Dimension::DeviceType),
        ("device", Dimension::Device),
        ("continent", Dimension::Continent),
        ("country", Dimension::Country),
        ("subdivision", Dimension::Subdivision),
        ("timezone", Dimension::Timezone),
        ("viewerId", Dimension::ViewerId),
        ("source", Dimension::Source),
    ];

    /// Parses an API name; the error lists the accepted ones.
    pub fn parse(name: &str) -> Result<Dimension, String> {
        Dimension::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                let names: Vec<&str> = Dimension::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "`breakdownBy` must be one of {}; got `{name}`",
                    names.join(", ")
                )
            })
    }

    /// The field name in answers.
    pub fn api_name(self) -> &'static str {
        Dimension::NAMES
            .iter()
            .find(|(_, d)| *d == self)
            .map_or("unknown", |(n, _)| *n)
    }

    /// The SQL expression over the `views` table (a constant).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Dimension::ContentId => "content_id",
            Dimension::ContentType => "content_type",
            Dimension::Browser => "browser",
            Dimension::Os => "os",
            Dimension::DeviceType => "device_type",
            Dimension::Device => "device",
            Dimension::Continent => "continent",
            Dimension::Country => "country",
            Dimension::Subdivision => "subdivision",
            Dimension::Timezone => "timezone",
            Dimension::ViewerId => "viewer_id",
            // The page the view started on, without query and fragment.
            Dimension::Source => "source",
            Dimension::BrowserEngine => "browser_engine",
        }
    }
}

/// A time bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStep {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimeStep {
    /// Parses `hour|day|week|month|year`.
    pub fn parse(name: &str) -> Result<TimeStep, String> {
        match name {
            "hour" => Ok(TimeStep::Hour),
            "day" => Ok(TimeStep::Day),
            "week" => Ok(TimeStep::Week),
            "month" => Ok(TimeStep::Month),
            "year" => Ok(TimeStep::Year),
            _ => Err(format!(
                "`timeStep` must be one of hour, day, week, month, year; got `{name}`"
            )),
        }
    }

    /// The bucket of `started_ms` (epoch ms, UTC). Hours, days and weeks (from Monday) are integer
    /// arithmetic: timestamp functions cost more per view than the rest of a query. Views start after
    /// 1970 (events older than the ingest window are refused), so the division rounds down.
    fn bucket_sql(self) -> String {
        const DAY: i64 = 86_400_000;
        match self {
            TimeStep::Hour => "started_ms // 3600000 * 3600000".into(),
            TimeStep::Day => format!("started_ms // {DAY} * {DAY}"),
            // 1970-01-01 was a Thursday: weeks start 3 days before it.
            TimeStep::Week => format!(
                "(started_ms + {m}) // {w} * {w} - {m}",
                m = 3 * DAY,
                w = 7 * DAY
            ),
            TimeStep::Month | TimeStep::Year => format!(
                "epoch_ms(date_trunc('{}', make_timestamp(started_ms * 1000)))",
                self.sql_unit()
            ),
        }
    }

    fn sql_unit(self) -> &'static str {
        match self {
            TimeStep::Hour => "hour",
            TimeStep::Day => "day",
            TimeStep::Week => "week",
            TimeStep::Month => "month",
            TimeStep::Year => "year",
        }
    }
}

/// A metrics query for one tenant.
#[derive(Debug, Clone, Default)]
pub struct MetricsQuery {
    pub content_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub time_step: Option<TimeStep>,
    pub breakdown: Vec<Dimension>,
    /// Only views whose dimension equals the value (one value per dimension).
    pub filters: Vec<(Dimension, String)>,
}

impl MetricsQuery {
    /// The WHERE clause over `views` for this query's tenant, window, content and filters, with its
    /// bound parameters (SQL fragments are constants; values are parameters).
    fn where_clause(&self, tenant_id: &str) -> (String, Vec<Box<dyn duckdb::ToSql>>) {
        let mut sql = String::from(
            "WHERE tenant_id = ?
               AND (? IS NULL OR content_id = ?)
               AND (? IS NULL OR started_ms >= ?)
               AND (? IS NULL OR started_ms < ?)",
        );
        let mut params: Vec<Box<dyn duckdb::ToSql>> = vec![
            Box::new(tenant_id.to_string()),
            Box::new(self.content_id.clone()),
            Box::new(self.content_id.clone()),
            Box::new(self.from_ms),
            Box::new(self.from_ms),
            Box::new(self.to_ms),
            Box::new(self.to_ms),
        ];
        for (dimension, value) in &self.filters {
            sql.push_str(&format!(" AND {} = ?", dimension.sql()));
            params.push(Box::new(value.clone()));
        }
        (sql, params)
    }
}

/// The metrics of every group, as Livepeer's `ViewershipMetric` objects.
pub fn view_metrics(
    conn: &Connection,
    tenant_id: &str,
    query: &MetricsQuery,
) -> Result<Vec<Map<String, Value>>, duckdb::Error> {
    let mut groups: Vec<String> = query
        .breakdown
        .iter()
        .map(|d| d.sql().to_string())
        .collect();
    if let Some(step) = query.time_step {
        groups.push(step.bucket_sql());
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
    let (where_sql, params) = query.where_clause(tenant_id);
    // The metric definitions (docs/api.md states the same in words).
    let sql = format!(
        "SELECT {select_groups}
            count(*) AS view_count,
            count(DISTINCT viewer_key) AS unique_viewers,
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
pub fn concurrency_peaks(
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
    let (where_sql, mut params) = windowless.where_clause(tenant_id);
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
        unit = step.sql_unit()
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

/// How recent an event must be for its session to count as watching now.
pub const REALTIME_WINDOW_MS: i64 = 90_000;

impl Dimension {
    /// The dimensions `/data/views/now` breaks down by (Livepeer's realtime ones).
    pub fn parse_realtime(name: &str) -> Result<Dimension, String> {
        match Dimension::parse(name) {
            Ok(
                d @ (Dimension::ContentId
                | Dimension::Device
                | Dimension::Browser
                | Dimension::Country),
            ) => Ok(d),
            _ => Err(format!(
                "`breakdownBy` must be one of playbackId, device, browser, country; got `{name}`"
            )),
        }
    }
}

/// A `/data/views/now` query.
#[derive(Debug, Clone, Default)]
pub struct RealtimeQuery {
    pub content_id: Option<String>,
    pub breakdown: Vec<Dimension>,
}

/// Viewers now: distinct sessions (a view without a session id counts as its own) among view segments
/// with an event received since `since_ms` (bots left out; a view id that has not started yet counts
/// too), and the share of those views that had a fatal error. Dimensions are the views'.
pub fn realtime_viewers(
    conn: &Connection,
    tenant_id: &str,
    since_ms: i64,
    query: &RealtimeQuery,
) -> Result<Vec<Map<String, Value>>, duckdb::Error> {
    let groups: Vec<&str> = query.breakdown.iter().map(|d| d.sql()).collect();
    let select_groups: String = groups.iter().map(|g| format!("{g}, ")).collect();
    let positions: Vec<String> = (1..=groups.len()).map(|i| i.to_string()).collect();
    let group_by = if groups.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", positions.join(", "))
    };
    let sql = format!(
        "SELECT {select_groups}
            count(DISTINCT coalesce(session_id, view_id)) AS viewers,
            coalesce((count(DISTINCT view_id) FILTER (WHERE fatal_error))::DOUBLE
                     / nullif(count(DISTINCT view_id), 0), 0)::DOUBLE AS error_rate
         FROM view_segments
         WHERE tenant_id = ? AND last_received_ms >= ? AND (? IS NULL OR content_id = ?)
         {group_by}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let dims = query.breakdown.clone();
    let content = query.content_id.clone();
    let rows = stmt
        .query_map(
            duckdb::params![tenant_id, since_ms, content, content],
            |row| {
                let mut out = Map::new();
                for (i, d) in dims.iter().enumerate() {
                    if let Some(v) = row.get::<_, Option<String>>(i)? {
                        out.insert(d.api_name().into(), Value::String(v));
                    }
                }
                let viewers: i64 = row.get(dims.len())?;
                let error_rate: f64 = row.get(dims.len() + 1)?;
                out.insert("viewCount".into(), Value::from(viewers));
                out.insert("errorRate".into(), number(error_rate));
                Ok(out)
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|r| r.get("viewCount").and_then(Value::as_i64) != Some(0))
        .collect())
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

/// A JSON number (null for a non-finite value).
pub(crate) fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::{ObjectRecord, Store};
    use event_schema::{validate_event, GeoFields, StoredEvent, UserAgentFields};
    use serde_json::json;

    const T0: i64 = 1_795_000_000_000; // 2026-11-19T...Z

    fn stored(raw: Value, country: &str) -> StoredEvent {
        let event = validate_event(raw, T0 + 3_600_000, &mut || "unused".into()).expect("valid");
        StoredEvent {
            tenant_id: "acme".into(),
            key_id: "k".into(),
            received_at: T0,
            event,
            user_agent: UserAgentFields {
                browser: Some("Chrome".into()),
                ..Default::default()
            },
            geo: GeoFields {
                country: Some(country.into()),
                ..Default::default()
            },
        }
    }

    fn e(eid: &str, ty: &str, view: &str, ts: i64, extra: Value) -> Value {
        let mut v = json!({"type": ty, "ts": ts, "eid": eid, "anonymous_id": format!("anon-{view}"),
                           "view_id": view, "content_id": "film", "page_url": "https://tv.example/watch/film?x=1"});
        if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        v
    }

    /// v1 (DE): first frame at 500 ms, 10 s watched, 1 s rebuffering.
    /// v2 (DE): fatal error before first frame. v3 (US): left before start. v4: a bot, ignored.
    fn store() -> Store {
        let mut store = Store::open_in_memory().expect("store");
        let events = vec![
            stored(e("1", "view_start", "v1", T0, json!({})), "DE"),
            stored(
                e("2", "first_frame", "v1", T0 + 500, json!({"ttff_ms": 500})),
                "DE",
            ),
            stored(e("3", "rebuffer_start", "v1", T0 + 2000, json!({})), "DE"),
            stored(
                e(
                    "4",
                    "heartbeat",
                    "v1",
                    T0 + 11000,
                    json!({"watched_ms": 10000, "rebuffer_ms": 1000}),
                ),
                "DE",
            ),
            stored(e("5", "view_start", "v2", T0, json!({})), "DE"),
            stored(
                e(
                    "6",
                    "error",
                    "v2",
                    T0 + 100,
                    json!({"fatal": true, "error_code": "4"}),
                ),
                "DE",
            ),
            stored(e("7", "view_start", "v3", T0 + 86_400_000, json!({})), "US"),
        ];
        let mut bot = stored(e("8", "view_start", "v4", T0, json!({})), "US");
        bot.user_agent.device_type = Some("bot".into());
        let mut all = events;
        all.push(bot);
        let object = ObjectRecord {
            key: "o",
            tenant_id: Some("acme"),
            uploaded_ms: 1,
            loaded_at_ms: 1,
        };
        store.load_batch(&object, &all).expect("load");
        store
    }

    #[test]
    fn every_dimension_is_listed_once_in_declaration_order() {
        for (i, d) in Dimension::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i, "{d:?}");
        }
        for (_, d) in Dimension::NAMES {
            assert!(Dimension::ALL.contains(&d), "{d:?}");
        }
    }

    #[test]
    fn metrics_follow_their_definitions() {
        let rows = store()
            .view_metrics("acme", &MetricsQuery::default())
            .expect("query");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r["viewCount"], json!(3));
        assert!((r["playtimeMins"].as_f64().unwrap_or(0.0) - 10_000.0 / 60_000.0).abs() < 1e-9);
        assert_eq!(r["ttffMs"], json!(500.0));
        assert!((r["rebufferRatio"].as_f64().unwrap_or(0.0) - 1_000.0 / 11_000.0).abs() < 1e-9);
        assert!((r["errorRate"].as_f64().unwrap_or(0.0) - 1.0 / 3.0).abs() < 1e-9);
        assert!((r["exitsBeforeStart"].as_f64().unwrap_or(0.0) - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn cached_statements_follow_the_views_table_through_a_compaction() {
        let mut store = store();
        let before = store
            .view_metrics("acme", &MetricsQuery::default())
            .expect("query");
        // The first compaction rewrites the table (drop, create, rename) under the cached plan.
        assert!(
            !store.compact_views().expect("small"),
            "too small to rewrite"
        );
        assert!(store.compact_views_from(0).expect("compact"));
        let after = store
            .view_metrics("acme", &MetricsQuery::default())
            .expect("query after compaction");
        assert_eq!(before, after);
        assert_eq!(after[0]["viewCount"], json!(3));
    }

    #[test]
    fn breakdown_and_time_step_group_views() {
        let query = MetricsQuery {
            breakdown: vec![Dimension::Country, Dimension::Source],
            time_step: Some(TimeStep::Day),
            ..MetricsQuery::default()
        };
        let rows = store().view_metrics("acme", &query).expect("query");
        let got: Vec<(Value, Value, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r["country"].clone(),
                    r["source"].clone(),
                    r["viewCount"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (json!("DE"), json!("https://tv.example/watch/film"), 2),
                (json!("US"), json!("https://tv.example/watch/film"), 1)
            ]
        );
        assert!(rows[0]["timestamp"]
            .as_i64()
            .is_some_and(|t| t % 86_400_000 == 0));
    }

    #[test]
    fn concurrency_peaks_count_overlapping_sessions_per_minute() {
        let query = MetricsQuery {
            time_step: Some(TimeStep::Day),
            ..MetricsQuery::default()
        };
        let rows = concurrency_peaks(store().conn_for_tests(), "acme", &query).expect("query");
        let peaks: Vec<Value> = rows.iter().map(|r| r["concurrentPeak"].clone()).collect();
        // Day 1: v1 and v2 (no session ids: one each) overlap in their first minute. Day 2: v3.
        assert_eq!(peaks, vec![json!(2), json!(1)]);
    }

    #[test]
    fn viewers_now_are_recent_sessions() {
        let s = store();
        // Every test event was received at T0: a window starting at T0 sees them, a later one none.
        let all = s
            .realtime_viewers("acme", T0, &RealtimeQuery::default())
            .expect("q");
        assert_eq!(
            all[0]["viewCount"],
            json!(3),
            "v1, v2, v3 (no session ids: one each): {all:?}"
        );
        assert!((all[0]["errorRate"].as_f64().unwrap_or(0.0) - 1.0 / 3.0).abs() < 1e-9);
        assert!(s
            .realtime_viewers("acme", T0 + 1, &RealtimeQuery::default())
            .expect("q")
            .is_empty());
        let by_country = RealtimeQuery {
            breakdown: vec![Dimension::Country],
            ..RealtimeQuery::default()
        };
        let mut rows: Vec<(Value, Value)> = s
            .realtime_viewers("acme", T0, &by_country)
            .expect("q")
            .into_iter()
            .map(|r| (r["country"].clone(), r["viewCount"].clone()))
            .collect();
        rows.sort_by_key(|r| r.0.to_string());
        assert_eq!(rows, vec![(json!("DE"), json!(2)), (json!("US"), json!(1))]);
    }

    #[test]
    fn identify_attributes_earlier_anonymous_views_to_the_user() {
        let mut s = store();
        // anon-v1 and anon-v2 are two browsers of one person who signs in on both afterwards.
        let link = |eid: &str, anon: &str| {
            let raw = json!({"type": "identify", "ts": T0 + 50_000, "eid": eid, "anonymous_id": anon,
                             "user_id": "user-1"});
            stored(raw, "DE")
        };
        let object = ObjectRecord {
            key: "o2",
            tenant_id: Some("acme"),
            uploaded_ms: 2,
            loaded_at_ms: 2,
        };
        s.load_batch(&object, &[link("i1", "anon-v1"), link("i2", "anon-v2")])
            .expect("load");
        let rows = s.view_metrics("acme", &MetricsQuery::default()).expect("q");
        assert_eq!(rows[0]["viewCount"], json!(3));
        assert_eq!(
            rows[0]["uniqueViewers"],
            json!(2),
            "user-1 (v1, v2) and anon-v3"
        );
        let by_viewer = MetricsQuery {
            breakdown: vec![Dimension::ViewerId],
            ..MetricsQuery::default()
        };
        let viewers: Vec<(Value, Value)> = s
            .view_metrics("acme", &by_viewer)
            .expect("q")
            .iter()
            .map(|r| (r["viewerId"].clone(), r["viewCount"].clone()))
            .collect();
        assert_eq!(
            viewers,
            vec![(json!("anon-v3"), json!(1)), (json!("user-1"), json!(2))]
        );
    }

    #[test]
    fn filters_and_other_tenants() {
        let s = store();
        let window = MetricsQuery {
            from_ms: Some(T0 + 1),
            ..MetricsQuery::default()
        };
        assert_eq!(
            s.view_metrics("acme", &window).expect("q")[0]["viewCount"],
            json!(1)
        );
        assert!(s
            .view_metrics("other", &MetricsQuery::default())
            .expect("q")
            .is_empty());
        let missing = MetricsQuery {
            content_id: Some("nope".into()),
            ..MetricsQuery::default()
        };
        assert!(s.view_metrics("acme", &missing).expect("q").is_empty());
    }

    /// Timestamps from 2000 to 2040, each a random millisecond.
    pub(crate) fn sample_instants() -> Vec<i64> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                946_684_800_000 + (x % (40 * 365 * 86_400_000)) as i64
            })
            .collect()
    }

    #[test]
    fn integer_buckets_equal_the_calendar_ones() {
        let conn = Connection::open_in_memory().expect("duckdb");
        conn.execute_batch("CREATE TABLE t (started_ms BIGINT)")
            .expect("table");
        for ms in sample_instants() {
            conn.execute("INSERT INTO t VALUES (?)", [ms]).expect("row");
        }
        for step in [TimeStep::Hour, TimeStep::Day, TimeStep::Week] {
            let sql = format!(
                "SELECT count(*) FROM t WHERE {} <> epoch_ms(date_trunc('{}', make_timestamp(started_ms * 1000)))",
                step.bucket_sql(),
                step.sql_unit()
            );
            let wrong: i64 = conn.query_row(&sql, [], |r| r.get(0)).expect("query");
            assert_eq!(wrong, 0, "{step:?}");
        }
    }
}
