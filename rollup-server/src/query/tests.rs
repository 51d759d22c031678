use super::mave::host_of;
use super::oracle::view_metrics as sql_view_metrics;
use super::time::bucket_label;
use super::time::{bucket, play_bucket, span_before};
use super::*;
use crate::query::params::{Dimension, MetricsQuery, TimeStep};
use crate::query::params::{PlaysQuery, Span, SpanUnit, Timeframe};
use crate::store::Store;
use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// One of `values`, or missing one time in eight.
    fn pick(&mut self, values: &[&str]) -> Option<String> {
        if self.below(8) == 0 {
            None
        } else {
            Some(values[self.below(values.len() as u64) as usize].to_string())
        }
    }
}

const T0: i64 = 1_767_225_600_000 - 40 * 86_400_000; // 40 days before 2026-01-01

/// Views with every column varied: missing values, ties, views without a first frame, with a
/// TTFF but no first frame, without playing time, across months and a year boundary.
fn store_with_views() -> Store {
    let store = Store::open_in_memory().expect("store");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // `views` is the counted segments: some segments here are not counted and must not show.
    let sql = "INSERT INTO view_segments (tenant_id, view_id, segment, started_ms, last_ms,
                   last_received_ms, first_eid, counted, has_view_start, has_first_frame,
                   content_id, content_type, viewer_id, ttff_ms, watched_ms,
                   rebuffer_ms, rebuffer_count, fatal_error, reached_first_frame, ended, source,
                   browser, browser_engine, os, device_type, device, continent, country,
                   subdivision, timezone, session_id, props)
               VALUES (?, ?, 0, ?, ?, 0, 'e', ?, true, true, ?, ?, ?, ?, ?, ?, 0, ?, ?, false, ?,
                       ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let mut stmt = store.conn.prepare(sql).expect("prepare");
    for i in 0..4000u64 {
        let tenant = if i % 5 == 0 { "globex" } else { "acme" };
        let started = T0 + (rng.below(80 * 24) as i64) * 3_600_000 + rng.below(3_600_000) as i64;
        let viewer = rng.pick(&[
            "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "anon-ü",
        ]);
        let reached = rng.below(6) != 0;
        let ttff = (rng.below(5) != 0).then(|| (rng.below(40) * 50) as i64);
        let played = rng.below(7) != 0;
        let watched = if played { rng.below(600_000) as i64 } else { 0 };
        let rebuffer = if played && rng.below(3) == 0 {
            rng.below(20_000) as i64
        } else {
            0
        };
        stmt.execute(duckdb::params![
            tenant,
            format!("v{i}"),
            started,
            // Some views last hours (concurrency across buckets).
            started + watched + (i % 7) as i64 * 1_800_000,
            i % 50 != 7,
            rng.pick(&["c1", "c2", "c3", "Zed", "ärger"]),
            rng.pick(&["vod", "live"]),
            viewer,
            ttff,
            watched,
            rebuffer,
            rng.below(9) == 0,
            reached,
            rng.pick(&["/a", "/b", "https://x.example/watch", "http://y.example"]),
            rng.pick(&[
                "Chrome",
                "Firefox",
                "Safari",
                "Edge",
                "Mobile Safari",
                "Chrome Mobile",
                "Opera Mini",
                "Brave",
                "IE",
                "HeadlessChrome",
                "Firefox iOS",
                "Samsung Internet",
            ]),
            rng.pick(&["Blink", "Gecko", "WebKit"]),
            rng.pick(&[
                "Windows",
                "Mac OS X",
                "Android",
                "iOS",
                "iPadOS",
                "Ubuntu",
                "Chrome OS",
                "Tizen"
            ]),
            rng.pick(&["desktop", "mobile", "tablet", "tv"]),
            rng.pick(&["Other", "iPhone", "Pixel 7"]),
            rng.pick(&["EU", "NA"]),
            rng.pick(&["DE", "US", "FR", "BR"]),
            rng.pick(&["BE", "TX", "IDF"]),
            rng.pick(&["Europe/Berlin", "America/Chicago"]),
            // A third of the views share a few sessions (one viewer per session in concurrency).
            (i % 3 == 0).then(|| format!("s{}", i % 40)),
            // Custom props as the edge writes them: strings, numbers, booleans, nested values and
            // nulls (which no query matches), none at all.
            rng.pick(&[
                r#"{"plan":"pro","season":2}"#,
                r#"{"plan":"free","season":2,"hd":true}"#,
                r#"{"plan":"pro","season":10,"hd":false,"ratio":1.5}"#,
                r#"{"plan":"pro","nested":{"a":1},"list":[1,2],"gone":null}"#,
                r#"{"plan":"ünï","season":"2"}"#,
                "{}",
            ]),
        ])
        .expect("insert");
    }
    drop(stmt);
    // Durations for some contents (engagement's timeline), none for others (then the furthest
    // played second is the timeline).
    store
        .conn
        .execute_batch(
            "UPDATE view_segments SET duration_s = CASE content_id
                 WHEN 'c1' THEN 600.0 WHEN 'c3' THEN 1234.5 WHEN 'Zed' THEN 0.0 END",
        )
        .expect("durations");
    let mut stmt = store
        .conn
        .prepare(
            "INSERT INTO view_ranges (tenant_id, view_id, segment, content_id, started_ms, from_s, to_s)
             SELECT tenant_id, view_id, segment, content_id, started_ms, ?, ? FROM view_segments
             WHERE view_id = ?",
        )
        .expect("prepare");
    for i in 0..4000u64 {
        let mut at = rng.below(300) as f64 + rng.below(1000) as f64 / 1000.0;
        for _ in 0..rng.below(4) {
            let to = at + rng.below(200) as f64 + 0.25;
            stmt.execute(duckdb::params![at, to, format!("v{i}")])
                .expect("range");
            at = to + rng.below(100) as f64 + 0.5;
        }
    }
    drop(stmt);
    store
}

fn index_of(store: &Store) -> ViewIndex {
    ViewIndex::new(store.read_views(None).expect("read"))
}

fn queries() -> Vec<MetricsQuery> {
    use Dimension::*;
    let day = 86_400_000;
    let mut out = vec![MetricsQuery::default()];
    for d in Dimension::ALL {
        out.push(MetricsQuery {
            breakdown: vec![d],
            ..MetricsQuery::default()
        });
    }
    for step in [
        TimeStep::Hour,
        TimeStep::Day,
        TimeStep::Week,
        TimeStep::Month,
        TimeStep::Year,
    ] {
        out.push(MetricsQuery {
            time_step: Some(step),
            ..MetricsQuery::default()
        });
        out.push(MetricsQuery {
            time_step: Some(step),
            breakdown: vec![Country, Browser],
            from_ms: Some(T0 + 10 * day + 12_345),
            to_ms: Some(T0 + 50 * day),
            ..MetricsQuery::default()
        });
    }
    out.extend([
        MetricsQuery {
            breakdown: vec![Browser, Os],
            from_ms: Some(T0 + 30 * day),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            breakdown: vec![Os, Browser, DeviceType, Country],
            to_ms: Some(T0 + 20 * day),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            content_id: Some("c2".into()),
            time_step: Some(TimeStep::Day),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            content_id: Some("no such content".into()),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            content_id: Some("c1".into()),
            from_ms: Some(T0 + 5 * day + 1),
            to_ms: Some(T0 + 30 * day - 1),
            breakdown: vec![Country],
            ..MetricsQuery::default()
        },
        MetricsQuery {
            filters: vec![(Country, "DE".into()), (Browser, "Safari".into())],
            breakdown: vec![ViewerId],
            ..MetricsQuery::default()
        },
        MetricsQuery {
            filters: vec![(Country, "XX".into())],
            time_step: Some(TimeStep::Day),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            from_ms: Some(T0 + 500 * day),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            from_ms: Some(T0 - 500 * day),
            to_ms: Some(T0 - 400 * day),
            breakdown: vec![Country],
            ..MetricsQuery::default()
        },
    ]);
    out
}

#[test]
fn the_index_answers_exactly_what_the_sql_definitions_answer() {
    let store = store_with_views();
    let index = index_of(&store);
    assert_eq!(index.view_count(), 4000 - 80, "counted segments only");
    for tenant in ["acme", "globex", "nobody"] {
        for query in queries() {
            let sql = sql_view_metrics(&store.conn, tenant, &query).expect("sql");
            let memory = index.view_metrics(tenant, &query);
            if let Some(i) =
                (0..sql.len().max(memory.len())).find(|i| sql.get(*i) != memory.get(*i))
            {
                panic!(
                    "tenant {tenant}, {query:?}: row {i} of {} (SQL) and {} (index):\nSQL   {:?}\nindex {:?}",
                    sql.len(),
                    memory.len(),
                    sql.get(i),
                    memory.get(i)
                );
            }
            assert_eq!(
                Value::from(memory),
                Value::from(sql),
                "tenant {tenant}, {query:?}"
            );
        }
    }
    // The generated views do exercise the cases: groups, missing values, several years.
    let by_year = index.view_metrics(
        "acme",
        &MetricsQuery {
            time_step: Some(TimeStep::Year),
            ..MetricsQuery::default()
        },
    );
    assert_eq!(by_year.len(), 2, "{by_year:?}");
    let by_country = index.view_metrics(
        "acme",
        &MetricsQuery {
            breakdown: vec![Dimension::Country],
            ..MetricsQuery::default()
        },
    );
    assert_eq!(by_country.len(), 5, "four countries and the unknown one");
    assert!(by_country
        .last()
        .is_some_and(|r| r.get("country").is_none()));
}

#[test]
fn concurrency_from_memory_equals_the_sql_definition() {
    let store = store_with_views();
    let index = index_of(&store);
    let day = 86_400_000;
    let mut queries = queries();
    queries.retain(|q| q.breakdown.is_empty());
    queries.extend([
        MetricsQuery {
            time_step: Some(TimeStep::Hour),
            from_ms: Some(T0 + 3 * day + 59_999),
            to_ms: Some(T0 + 4 * day + 90_001),
            ..MetricsQuery::default()
        },
        MetricsQuery {
            time_step: Some(TimeStep::Hour),
            content_id: Some("c3".into()),
            filters: vec![(Dimension::Country, "DE".into())],
            to_ms: Some(T0 + 9 * day),
            ..MetricsQuery::default()
        },
    ]);
    let mut peaks_above_one = 0;
    for tenant in ["acme", "globex", "nobody"] {
        for query in &queries {
            let sql = super::oracle::concurrency_peaks(&store.conn, tenant, query).expect("sql");
            let memory = index.concurrency_peaks(tenant, query).expect("memory");
            assert_eq!(
                Value::from(memory),
                Value::from(sql.clone()),
                "tenant {tenant}, {query:?}"
            );
            peaks_above_one += sql
                .iter()
                .filter(|r| r["concurrentPeak"].as_i64() > Some(1))
                .count();
        }
    }
    assert!(
        peaks_above_one > 100,
        "overlaps are exercised: {peaks_above_one}"
    );
}

#[test]
fn views_by_content_from_memory_equal_the_sql_ones() {
    let store = store_with_views();
    let index = index_of(&store);
    let day = 86_400_000;
    let windows = [
        (None, None),
        (Some(T0 + 10 * day + 1), None),
        (None, Some(T0 + 20 * day)),
        (Some(T0 + 3 * day), Some(T0 + 4 * day)),
        (Some(T0 - 9 * day), Some(T0 - 8 * day)),
    ];
    for tenant in ["acme", "globex", "nobody"] {
        for (from, to) in windows {
            let sql = super::oracle::views_by_content(&store.conn, tenant, from, to).expect("sql");
            assert_eq!(
                index.views_by_content(tenant, from, to),
                sql,
                "{tenant} {from:?} {to:?}"
            );
        }
    }
    assert!(index.views_by_content("acme", None, None).len() >= 4);
}

#[test]
fn a_concurrency_answer_of_too_many_buckets_is_refused_without_computing_it() {
    let store = store_with_views();
    // One view watched for ten years: hourly, that is 87 600 buckets.
    store
        .conn
        .execute_batch(
            "UPDATE view_segments SET last_ms = started_ms + 315360000000 WHERE view_id = 'v1'",
        )
        .expect("update");
    let index = index_of(&store);
    let error = index
        .concurrency_peaks("acme", &MetricsQuery::default())
        .expect_err("too many buckets");
    assert!(error.contains("timeStep"), "{error}");
    let yearly = index
        .concurrency_peaks(
            "acme",
            &MetricsQuery {
                time_step: Some(TimeStep::Year),
                ..MetricsQuery::default()
            },
        )
        .expect("yearly");
    let sql = super::oracle::concurrency_peaks(
        &store.conn,
        "acme",
        &MetricsQuery {
            time_step: Some(TimeStep::Year),
            ..MetricsQuery::default()
        },
    )
    .expect("sql");
    assert!(yearly.len() >= 11, "ten years and more: {yearly:?}");
    assert_eq!(yearly, sql);
}

fn plays_queries() -> Vec<PlaysQuery> {
    let day = 86_400_000;
    let span = |count, unit| Span { count, unit };
    let mut out = Vec::new();
    for interval in [
        span(1, SpanUnit::Day),
        span(6, SpanUnit::Hour),
        span(15, SpanUnit::Minute),
        span(2, SpanUnit::Week),
        span(1, SpanUnit::Month),
        span(3, SpanUnit::Month),
        span(1, SpanUnit::Year),
    ] {
        for timeframe in [
            Timeframe::Last(span(7, SpanUnit::Day)),
            Timeframe::Last(span(1, SpanUnit::Month)),
            Timeframe::Last(span(2, SpanUnit::Year)),
            Timeframe::Last(span(36, SpanUnit::Hour)),
            Timeframe::Between {
                from_ms: T0 + 3 * day,
                to_ms: None,
            },
        ] {
            out.push(PlaysQuery {
                interval,
                timeframe,
                ..PlaysQuery::default()
            });
        }
    }
    let between = Timeframe::Between {
        from_ms: T0,
        to_ms: Some(T0 + 20 * day),
    };
    for props in [
        vec![("plan", "pro")],
        vec![("plan", "pro"), ("season", "2")],
        vec![("season", "10")],
        vec![("hd", "true")],
        vec![("ratio", "1.5")],
        vec![("plan", "ünï")],
        vec![("nested", r#"{"a":1}"#)],
        vec![("gone", "null")],
        vec![("plan", "nobody has this")],
        vec![("no such key", "pro")],
    ] {
        out.push(PlaysQuery {
            props: props
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            interval: span(1, SpanUnit::Day),
            timeframe: between.clone(),
            ..PlaysQuery::default()
        });
    }
    for (identifier, minimum_watch_ms) in [
        (Some("c2"), 30_000),
        (Some("no such content"), 0),
        (None, 0),
        (None, 600_000),
    ] {
        out.push(PlaysQuery {
            identifier: identifier.map(String::from),
            minimum_watch_ms,
            interval: span(1, SpanUnit::Day),
            timeframe: Timeframe::Between {
                from_ms: T0,
                to_ms: Some(T0 + 20 * day),
            },
            ..PlaysQuery::default()
        });
    }
    out
}

/// Every number of an answer: finite and not negative.
fn assert_sane_numbers(context: &str, value: &Value) {
    match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            assert!(f.is_finite() && f >= 0.0, "{context}: {n}");
        }
        Value::Array(items) => items.iter().for_each(|v| assert_sane_numbers(context, v)),
        Value::Object(fields) => fields
            .values()
            .for_each(|v| assert_sane_numbers(context, v)),
        _ => {}
    }
}

#[test]
fn extreme_stored_values_pass_through_every_metric_without_overflow() {
    let store = store_with_views();
    // Values no event can carry (the edge refuses them and a load quarantines them), stored as
    // if they had been: sums over them overflow 64 bits, and ranges reach far past the media.
    store
        .conn
        .execute_batch(
            "UPDATE view_segments SET watched_ms = 9223372036854775807,
                 rebuffer_ms = 9223372036854775807, ttff_ms = 9223372036854775807,
                 duration_s = CASE WHEN content_id = 'c1' THEN 1e300 ELSE duration_s END,
                 furthest_position_s = 1e300
             WHERE view_id LIKE 'v1%' OR view_id LIKE 'v3%';
             UPDATE view_ranges SET to_s = 1e300 WHERE view_id LIKE 'v2%' OR view_id LIKE 'v1%';",
        )
        .expect("extremes");
    let index = index_of(&store);
    let now_ms = T0 + 45 * 86_400_000;
    for query in queries() {
        let memory = Value::from(index.view_metrics("acme", &query));
        assert_sane_numbers(&format!("{query:?}"), &memory);
    }
    for query in plays_queries() {
        let plays = index.plays("acme", &query, now_ms);
        assert_sane_numbers("plays", &Value::from(plays));
        for ranges in [1, 100] {
            let engagement = index.engagement("acme", &query, ranges, now_ms);
            assert_sane_numbers("engagement", &Value::from(engagement));
        }
        let sources = index.sources_json("acme", &query, now_ms);
        let sources: Value = serde_json::from_slice(&sources).expect("json");
        assert_sane_numbers("sources", &sources);
    }
}

#[test]
fn mave_plays_sources_and_engagement_equal_duckdbs_on_the_same_views() {
    let store = store_with_views();
    let index = index_of(&store);
    let day = 86_400_000;
    // "now" inside the data, on a month's last day, and after it.
    for now_ms in [
        T0 + 45 * day + 1234,
        1_772_236_800_000 + 3_600_000,
        T0 + 400 * day,
    ] {
        for tenant in ["acme", "globex", "nobody"] {
            for query in plays_queries() {
                let sql = super::oracle::plays(&store.conn, tenant, &query, now_ms).expect("sql");
                let memory = index.plays(tenant, &query, now_ms);
                assert_eq!(
                    Value::from(memory),
                    Value::from(sql),
                    "plays, {tenant}, {now_ms}, {query:?}"
                );
                for ranges in [1, 7, 100] {
                    let sql =
                        super::oracle::engagement(&store.conn, tenant, &query, ranges, now_ms)
                            .expect("sql");
                    let memory = index.engagement(tenant, &query, ranges, now_ms);
                    assert_eq!(
                        Value::from(memory),
                        Value::from(sql),
                        "engagement, {ranges}, {tenant}, {now_ms}, {query:?}"
                    );
                }
                let sql = super::oracle::sources(&store.conn, tenant, &query, now_ms).expect("sql");
                let memory = index.sources_json(tenant, &query, now_ms);
                // Byte for byte what serializing the store's rows gives.
                let expected = serde_json::to_vec(&json!({ "sources": sql })).expect("json");
                assert_eq!(
                    String::from_utf8_lossy(&memory),
                    String::from_utf8_lossy(&expected),
                    "sources, {tenant}, {now_ms}, {query:?}"
                );
            }
        }
    }
    // The comparisons above compared something: plays, and plays matching custom props.
    assert!(!index
        .plays("acme", &plays_queries()[0], T0 + 45 * day)
        .is_empty());
    let pro = plays_queries()
        .into_iter()
        .find(|q| q.props == [("plan".to_string(), "pro".to_string())])
        .expect("a props query");
    let plays = index.plays("acme", &pro, T0 + 45 * day);
    let all = PlaysQuery {
        props: Vec::new(),
        ..pro.clone()
    };
    let count = |rows: &[Value]| rows.iter().filter_map(|r| r["views"].as_i64()).sum::<i64>();
    let (matching, every) = (
        count(&plays),
        count(&index.plays("acme", &all, T0 + 45 * day)),
    );
    assert!(
        0 < matching && matching < every,
        "{matching} of {every} plays match plan=pro"
    );
}

#[test]
fn spans_before_now_and_play_buckets_equal_duckdbs() {
    let store = Store::open_in_memory().expect("store");
    let mut instants = sample_instants();
    // Month ends: 2024-03-31, 2025-12-31 and 2024-02-29, at midday.
    instants.extend([1_711_886_400_000, 1_767_182_400_000, 1_709_208_000_000]);
    let spans = [
        Span {
            count: 1,
            unit: SpanUnit::Month,
        },
        Span {
            count: 13,
            unit: SpanUnit::Month,
        },
        Span {
            count: 1,
            unit: SpanUnit::Year,
        },
        Span {
            count: 3,
            unit: SpanUnit::Week,
        },
        Span {
            count: 90,
            unit: SpanUnit::Minute,
        },
    ];
    for ms in instants {
        for span in spans {
            let (interval, n) = super::oracle::span_sql(span);
            let sql: i64 = store
                .conn
                .query_row(
                    &format!("SELECT epoch_ms(make_timestamp(?::BIGINT * 1000) - {interval})"),
                    duckdb::params![ms, n],
                    |r| r.get(0),
                )
                .expect("sql");
            assert_eq!(span_before(span, ms), sql, "{ms} - {span:?}");
            let sql: i64 = store
                .conn
                .query_row(
                    &format!("SELECT epoch_ms(time_bucket({interval}, make_timestamp(?::BIGINT * 1000)))"),
                    duckdb::params![n, ms],
                    |r| r.get(0),
                )
                .expect("sql");
            if matches!(span.unit, SpanUnit::Month | SpanUnit::Year) {
                assert_eq!(play_bucket(span, ms), sql, "bucket of {ms} by {span:?}");
            }
        }
    }
}

#[test]
fn a_tenant_read_again_replaces_only_that_tenant() {
    let store = store_with_views();
    let index = index_of(&store);
    store
        .conn
        .execute("DELETE FROM view_segments WHERE tenant_id = 'globex'", [])
        .expect("delete");
    store
        .conn
        .execute(
            "DELETE FROM view_segments WHERE tenant_id = 'acme' AND country = 'DE'",
            [],
        )
        .expect("delete");
    let fresh = store.read_views(Some("globex")).expect("read");
    let next = index.with_tenants(&["globex".to_string()], fresh);
    assert!(next
        .view_metrics("globex", &MetricsQuery::default())
        .is_empty());
    // acme was not read again: still the views it had.
    assert_eq!(
        Value::from(next.view_metrics("acme", &MetricsQuery::default())),
        Value::from(index.view_metrics("acme", &MetricsQuery::default()))
    );
    let fresh = store.read_views(Some("acme")).expect("read");
    let next = next.with_tenants(&["acme".to_string()], fresh);
    assert_eq!(
        Value::from(next.view_metrics("acme", &MetricsQuery::default())),
        Value::from(sql_view_metrics(&store.conn, "acme", &MetricsQuery::default()).expect("sql"))
    );
}

#[test]
fn calendar_buckets_equal_the_sql_ones() {
    let store = Store::open_in_memory().expect("store");
    for ms in sample_instants() {
        for (step, unit) in [
            (TimeStep::Month, "month"),
            (TimeStep::Year, "year"),
            (TimeStep::Week, "week"),
        ] {
            let sql: i64 = store
                .conn
                .query_row(
                    &format!(
                        "SELECT epoch_ms(date_trunc('{unit}', make_timestamp(?::BIGINT * 1000)))"
                    ),
                    [ms],
                    |r| r.get(0),
                )
                .expect("sql");
            assert_eq!(bucket(step, ms), sql, "{unit} of {ms}");
        }
    }
}

/// Timestamps from 2000 to 2040, each a random millisecond.
fn sample_instants() -> Vec<i64> {
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
fn labels_and_hosts_match_duckdbs() {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    for ms in sample_instants() {
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
