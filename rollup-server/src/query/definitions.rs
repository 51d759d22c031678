//! The metrics' definitions on a handful of hand-made views, with the answers worked out by hand.

use super::params::{Dimension, MetricsQuery, TimeStep};
use super::ViewIndex;
use crate::store::{ObjectRecord, Store};
use event_schema::{validate_event, GeoFields, StoredEvent, UserAgentFields};
use serde_json::{json, Value};

pub(crate) const T0: i64 = 1_795_000_000_000; // 2026-11-19T...Z

pub(crate) fn stored(raw: Value, country: &str) -> StoredEvent {
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

pub(crate) fn e(eid: &str, ty: &str, view: &str, ts: i64, extra: Value) -> Value {
    let mut v = json!({"type": ty, "ts": ts, "eid": eid, "anonymous_id": format!("anon-{view}"),
                       "view_id": view, "content_id": "film", "page_url": "https://tv.example/watch/film?x=1"});
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    v
}

/// v1 (DE): first frame at 500 ms, 10 s watched, 1 s rebuffering.
/// v2 (DE): fatal error before first frame. v3 (US): left before start. v4: a bot, ignored.
pub(crate) fn store() -> Store {
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

fn index_of(store: &Store) -> ViewIndex {
    ViewIndex::new(store.read_views(None).expect("read views"))
}

#[test]
fn metrics_follow_their_definitions() {
    let rows = index_of(&store()).view_metrics("acme", &MetricsQuery::default());
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
fn views_read_after_a_compaction_answer_the_same() {
    let mut store = store();
    let before = index_of(&store).view_metrics("acme", &MetricsQuery::default());
    // The first compaction rewrites the table (drop, create, rename) under the cached plan.
    assert!(
        !store.compact_views().expect("small"),
        "too small to rewrite"
    );
    assert!(store.compact_views_from(0).expect("compact"));
    let after = index_of(&store).view_metrics("acme", &MetricsQuery::default());
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
    let rows = index_of(&store()).view_metrics("acme", &query);
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
    let rows = index_of(&store())
        .concurrency_peaks("acme", &query)
        .expect("query");
    let peaks: Vec<Value> = rows.iter().map(|r| r["concurrentPeak"].clone()).collect();
    // Day 1: v1 and v2 (no session ids: one each) overlap in their first minute. Day 2: v3.
    assert_eq!(peaks, vec![json!(2), json!(1)]);
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
    let index = index_of(&s);
    let rows = index.view_metrics("acme", &MetricsQuery::default());
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
    let viewers: Vec<(Value, Value)> = index
        .view_metrics("acme", &by_viewer)
        .iter()
        .map(|r| (r["viewerId"].clone(), r["viewCount"].clone()))
        .collect();
    assert_eq!(
        viewers,
        vec![(json!("anon-v3"), json!(1)), (json!("user-1"), json!(2))]
    );
}

#[test]
fn filters_windows_and_other_tenants() {
    let s = index_of(&store());
    let window = MetricsQuery {
        from_ms: Some(T0 + 1),
        ..MetricsQuery::default()
    };
    assert_eq!(s.view_metrics("acme", &window)[0]["viewCount"], json!(1));
    assert!(s.view_metrics("other", &MetricsQuery::default()).is_empty());
    let missing = MetricsQuery {
        content_id: Some("nope".into()),
        ..MetricsQuery::default()
    };
    assert!(s.view_metrics("acme", &missing).is_empty());
}

#[test]
fn mux_metrics_and_scores_follow_their_definitions() {
    use super::mux::{Grouping, Metric, MuxQuery};
    let index = index_of(&store());
    let query = MuxQuery {
        from_ms: T0,
        to_ms: T0 + 2 * 86_400_000,
        now_ms: T0 + 3 * 86_400_000,
        ..MuxQuery::default()
    };
    let value = |metric: Metric| {
        let aggregate = metric.aggregate(None).expect("default");
        let groups = index.mux_groups("acme", metric, aggregate, &query, Grouping::All);
        groups[0].value.expect("a value")
    };
    // v1 watched 11.5 s: 500 ms of startup, 10 s playing, 1 s in its one stall.
    let watch: f64 = 11_500.0;
    let expect = [
        (Metric::Views, 3.0),
        (Metric::PlayingTime, 10_000.0),
        (Metric::VideoStartupTime, 500.0),
        (Metric::RebufferPercentage, 1_000.0 / watch),
        (Metric::RebufferFrequency, 60_000.0 / watch),
        (Metric::RebufferCount, 1.0),
        (Metric::PlaybackFailurePercentage, 1.0 / 3.0),
        (Metric::VideoStartupFailurePercentage, 1.0 / 3.0),
        (Metric::ExitsBeforeVideoStart, 1.0 / 3.0),
        // None of them ended cleanly, and all are over.
        (Metric::ViewDroppedPercentage, 1.0),
        // v1 played (1), v2 failed (0), v3 left at once (under a second: no score).
        (Metric::PlaybackSuccessScore, 0.5),
        (Metric::StartupTimeScore, 8.0 / 8.5),
        (
            Metric::SmoothnessScore,
            (1.0 / 1.25f64.sqrt() + (-10.0 * 1_000.0 / watch).exp()) / 2.0,
        ),
    ];
    for (metric, want) in expect {
        let got = value(metric);
        assert!(
            (got - want).abs() < 1e-12,
            "{metric:?}: {got}, expected {want}"
        );
    }
    // v3 started a day later: a timeframe of the first day has v1 and v2 (by start and by end).
    let first_day = MuxQuery {
        to_ms: T0 + 86_400_000,
        ..query.clone()
    };
    let views = index.mux_groups(
        "acme",
        Metric::Views,
        Metric::Views.aggregate(None).expect("count"),
        &first_day,
        Grouping::All,
    );
    assert_eq!(views[0].value, Some(2.0));
    assert!(Metric::parse("upscale_percentage")
        .expect_err("not measured")
        .contains("not measured"));
    assert!(Metric::parse("nonsense")
        .expect_err("unknown")
        .contains("unknown metric"));
    assert!(Metric::Views
        .aggregate(Some(super::mux::Measurement::Median))
        .is_err());
}

#[test]
fn failure_kinds_and_seek_latency_follow_their_definitions() {
    use super::mux::{Grouping, Metric, MuxQuery};
    let mut store = Store::open_in_memory().expect("store");
    let events = vec![
        // b1: a business exception (fatal, flagged) two seconds after the play request.
        stored(e("1", "view_start", "b1", T0, json!({})), "DE"),
        stored(
            e(
                "2",
                "error",
                "b1",
                T0 + 2_000,
                json!({"fatal": true, "business_error": true}),
            ),
            "DE",
        ),
        // f1: a playback failure after its first frame.
        stored(e("3", "view_start", "f1", T0, json!({})), "DE"),
        stored(
            e("4", "first_frame", "f1", T0 + 400, json!({"ttff_ms": 400})),
            "DE",
        ),
        stored(
            e("5", "error", "f1", T0 + 5_000, json!({"fatal": true})),
            "DE",
        ),
        // s1: two seeks of 400 and 600 ms, and one from a v1 client without a time.
        stored(e("6", "view_start", "s1", T0, json!({})), "DE"),
        stored(
            e("7", "first_frame", "s1", T0 + 300, json!({"ttff_ms": 300})),
            "DE",
        ),
        stored(
            e("8", "seek", "s1", T0 + 2_000, json!({"seek_ms": 400})),
            "DE",
        ),
        stored(
            e("9", "seek", "s1", T0 + 4_000, json!({"seek_ms": 600})),
            "DE",
        ),
        stored(e("10", "seek", "s1", T0 + 6_000, json!({})), "DE"),
    ];
    let object = ObjectRecord {
        key: "o",
        tenant_id: Some("acme"),
        uploaded_ms: 1,
        loaded_at_ms: 1,
    };
    store.load_batch(&object, &events).expect("load");
    let index = index_of(&store);
    let query = MuxQuery {
        from_ms: T0,
        to_ms: T0 + 86_400_000,
        now_ms: T0 + 2 * 86_400_000,
        ..MuxQuery::default()
    };
    let value = |metric: Metric| {
        let aggregate = metric.aggregate(None).expect("default");
        let groups = index.mux_groups("acme", metric, aggregate, &query, Grouping::All);
        groups[0].value.expect("a value")
    };
    let expect = [
        (Metric::PlaybackFailurePercentage, 1.0 / 3.0),
        (Metric::VideoStartupFailurePercentage, 0.0),
        (Metric::PlaybackBusinessExceptionPercentage, 1.0 / 3.0),
        (Metric::VideoStartupBusinessExceptionPercentage, 1.0 / 3.0),
        // A business exception is no exit before video start.
        (Metric::ExitsBeforeVideoStart, 0.0),
        (Metric::SeekLatency, 500.0),
        // f1 failed (0), s1 played (1); b1's business exception has no score.
        (Metric::PlaybackSuccessScore, 0.5),
    ];
    for (metric, want) in expect {
        let got = value(metric);
        assert!(
            (got - want).abs() < 1e-12,
            "{metric:?}: {got}, expected {want}"
        );
    }
    // Livepeer's error rate counts every fatal error.
    let rows = index.view_metrics("acme", &MetricsQuery::default());
    assert!((rows[0]["errorRate"].as_f64().unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-12);
}
