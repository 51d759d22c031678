//! Known answers through HTTP: a generated dataset (lake-gen, whose expected values come from its own
//! truth, not from the server) is loaded by `rollup-server ingest --lake-dir`, and every metric, every
//! breakdown dimension, every time step, filters, the mave plays/sources/engagement answers and tenant
//! isolation are checked against the expectations through the running server's API.

use lake_gen::expected::{self, GroupKey, Metrics, Step, DIMENSIONS};
use lake_gen::{Config, TruthView};
use pipeline_tests::{rollup_cli, GeneratedLake};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

fn check_metrics(context: &str, got: &Value, want: &Metrics) {
    let number = |name: &str| got.get(name).and_then(Value::as_f64);
    assert_eq!(
        got["viewCount"].as_i64(),
        Some(want.view_count),
        "{context}: viewCount"
    );
    assert_eq!(
        got["uniqueViewers"].as_i64(),
        Some(want.unique_viewers),
        "{context}: uniqueViewers"
    );
    let pairs = [
        ("playtimeMins", Some(want.playtime_mins)),
        ("ttffMs", want.ttff_ms),
        ("ttffP95Ms", want.ttff_p95_ms),
        ("rebufferRatio", Some(want.rebuffer_ratio)),
        ("errorRate", Some(want.error_rate)),
        ("exitsBeforeStart", Some(want.exits_before_start)),
    ];
    for (name, expected) in pairs {
        match (number(name), expected) {
            (Some(g), Some(w)) => assert!(close(g, w), "{context}: {name} is {g}, expected {w}"),
            (None, None) => {}
            (g, w) => panic!("{context}: {name} is {g:?}, expected {w:?}"),
        }
    }
}

struct Api {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Api {
    fn get(&self, path_and_query: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"));
        let status = response.status();
        let body: Value = response.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "GET {path_and_query}: {status} {body}");
        body
    }
}

/// Compares a Livepeer answer with the expected groups.
fn check_groups(
    context: &str,
    rows: &Value,
    dimensions: &[&str],
    stepped: bool,
    want: &BTreeMap<GroupKey, Vec<&TruthView>>,
) {
    let rows = rows
        .as_array()
        .unwrap_or_else(|| panic!("{context}: not a list"));
    assert_eq!(rows.len(), want.len(), "{context}: number of groups");
    for row in rows {
        let key: GroupKey = (
            dimensions
                .iter()
                .map(|d| row.get(*d).and_then(Value::as_str).map(str::to_string))
                .collect(),
            if stepped {
                row["timestamp"].as_i64()
            } else {
                None
            },
        );
        let views = want
            .get(&key)
            .unwrap_or_else(|| panic!("{context}: unexpected group {key:?}"));
        check_metrics(
            &format!("{context} {key:?}"),
            row,
            &expected::metrics(views),
        );
    }
}

#[test]
fn every_metric_dimension_and_step_matches_the_generated_truth() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 7,
        tenants: vec!["acme".into(), "globex".into()],
        events: 150_000,
        days: 40,
        now_ms,
        contents: 12,
        viewers: 300,
        object_events: 700,
        keep_truth: true,
        // acme's key keeps UA strings: every line of it starts with the full string, as the edge writes.
        store_user_agent: vec!["acme".into()],
    });
    let (generated, now_ms, db) = (&fixture.generated, fixture.now_ms, &fixture.db);
    assert!(generated.objects > 20, "events spread over many objects");
    let report = fixture.ingest();
    assert_eq!(
        report["events_loaded"].as_u64(),
        Some(generated.distinct_events),
        "every distinct event once: {report}"
    );
    assert_eq!(
        report["duplicates_skipped"].as_u64(),
        Some(generated.events_written - generated.distinct_events)
    );

    let server = fixture.serve();
    let api = Api {
        base: server.base_url.clone(),
        token: rollup_cli(db, &["token", "--tenant", "acme"]),
        http: reqwest::blocking::Client::new(),
    };
    let acme: Vec<TruthView> = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "acme")
        .cloned()
        .collect();
    let all = |_: &TruthView| true;
    let window = format!("from={}&to={}", now_ms - 41 * 86_400_000, now_ms + 1);

    // All-time, then every single dimension.
    check_groups(
        "all",
        &api.get(&format!("/data/views/query?{window}")),
        &[],
        false,
        &expected::grouped(&acme, &[], None, &all),
    );
    for dimension in DIMENSIONS {
        check_groups(
            dimension,
            &api.get(&format!(
                "/data/views/query?{window}&breakdownBy[]={dimension}"
            )),
            &[dimension],
            false,
            &expected::grouped(&acme, &[dimension], None, &all),
        );
    }
    // Every time step, and a combination of breakdowns with a step.
    for (name, step) in Step::ALL {
        check_groups(
            name,
            &api.get(&format!("/data/views/query?{window}&timeStep={name}")),
            &[],
            true,
            &expected::grouped(&acme, &[], Some(step), &all),
        );
    }
    check_groups(
        "country x browser x day",
        &api.get(&format!(
            "/data/views/query?{window}&timeStep=day&breakdownBy[]=country&breakdownBy[]=browser"
        )),
        &["country", "browser"],
        true,
        &expected::grouped(&acme, &["country", "browser"], Some(Step::Day), &all),
    );
    // Filters: a dimension value, a content, and a time window.
    check_groups(
        "country=DE by browser",
        &api.get(&format!(
            "/data/views/query?{window}&country=DE&breakdownBy[]=browser"
        )),
        &["browser"],
        false,
        &expected::grouped(&acme, &["browser"], None, &|v| v.place.country == "DE"),
    );
    let content = acme[0].content_id.clone();
    check_groups(
        "one content by week",
        &api.get(&format!(
            "/data/views/query?{window}&playbackId={content}&timeStep=week"
        )),
        &[],
        true,
        &expected::grouped(&acme, &[], Some(Step::Week), &|v| v.content_id == content),
    );
    let since = now_ms - 7 * 86_400_000;
    check_groups(
        "last 7 days",
        &api.get(&format!("/data/views/query?from={since}")),
        &[],
        false,
        &expected::grouped(&acme, &[], None, &|v| v.started_ms >= since),
    );

    // mave: plays per day with browser/device/platform counts, for plays of >= 30 s of the pro plan.
    let from_s = (now_ms - 41 * 86_400_000) / 1000;
    let plays = api.get(&format!(
        "/api/v1/plays?interval=1%20day&from={from_s}&minimum_watch_seconds=30&query=%7B%22plan%22%3A%22pro%22%7D"
    ));
    let want_plays = expected::plays(&acme, 30_000, &|v| v.plan == Some("pro"));
    let mut per_day: BTreeMap<String, Vec<&TruthView>> = BTreeMap::new();
    for view in &want_plays {
        per_day
            .entry(expected::day_label(view.started_ms))
            .or_default()
            .push(view);
    }
    let rows = plays["views"].as_array().expect("views");
    assert_eq!(rows.len(), per_day.len(), "plays: days");
    for row in rows {
        let label = row["interval"].as_str().expect("interval");
        let views = &per_day[label];
        assert_eq!(
            row["views"].as_i64(),
            Some(views.len() as i64),
            "plays {label}"
        );
        let seconds: f64 = views.iter().map(|v| v.watched_ms as f64 / 1000.0).sum();
        assert!(
            close(row["total_view_time"].as_f64().unwrap_or(-1.0), seconds),
            "{label}"
        );
        for (group, field) in [("browser", 0), ("platform", 1), ("device_type", 2)] {
            for (name, count) in row[group].as_object().expect("counts") {
                let want = views
                    .iter()
                    .filter(|v| match field {
                        0 => expected::mave_browser(v.ua) == name,
                        1 => expected::mave_platform(v.ua) == name,
                        _ => expected::mave_device_type(v.ua) == name,
                    })
                    .count() as i64;
                assert_eq!(count.as_i64(), Some(want), "plays {label} {group}.{name}");
            }
        }
    }
    // mave: engagement of one content in 20 ranges, plays of >= 1 s (POST, as mave clients send it).
    let engagement: Value = api
        .http
        .post(format!("{}/api/v1/engagement", api.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({"identifier": content, "ranges": 20, "from": from_s}))
        .send()
        .and_then(|r| r.json())
        .expect("engagement");
    let content_plays = expected::plays(&acme, 1_000, &|v| v.content_id == content);
    let want = expected::engagement(&content_plays, 20);
    let got = engagement["engagement"].as_array().expect("ranges");
    assert_eq!(got.len(), 20);
    for (row, (from, to, viewers)) in got.iter().zip(want) {
        assert!(
            close(row["range_time"]["from"].as_f64().unwrap_or(-1.0), from),
            "{row}"
        );
        assert!(
            close(row["range_time"]["to"].as_f64().unwrap_or(-1.0), to),
            "{row}"
        );
        assert_eq!(row["viewers"].as_i64(), Some(viewers), "engagement {row}");
    }
    // mave: plays per source page per day.
    let sources = api.get(&format!("/api/v1/sources?interval=1%20day&from={from_s}"));
    let mut want_sources: BTreeMap<(String, String), i64> = BTreeMap::new();
    for view in expected::plays(&acme, 1_000, &all) {
        *want_sources
            .entry((expected::day_label(view.started_ms), view.source.clone()))
            .or_default() += 1;
    }
    let got: BTreeMap<(String, String), i64> = sources["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|r| {
            (
                (
                    r["interval"].as_str().unwrap_or("").to_string(),
                    r["path"].as_str().unwrap_or("").to_string(),
                ),
                r["views"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(got, want_sources, "sources");

    // Another tenant's token sees only its own views, even when asking for acme's content.
    let globex = Api {
        token: rollup_cli(db, &["token", "--tenant", "globex"]),
        ..api
    };
    let theirs: Vec<TruthView> = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "globex")
        .cloned()
        .collect();
    check_groups(
        "globex",
        &globex.get(&format!("/data/views/query?{window}")),
        &[],
        false,
        &expected::grouped(&theirs, &[], None, &all),
    );
    // Answers are cached per tenant until the data changes: a repeat is a hit with the same body, and
    // another tenant asking the same URL gets its own answer.
    let url = format!(
        "{}/data/views/query?{window}&breakdownBy[]=country",
        globex.base
    );
    let fetch = |token: &str| {
        let r = globex
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .expect("query");
        let cache = r
            .headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (cache, r.text().unwrap_or_default())
    };
    let first = fetch(&globex.token);
    let again = fetch(&globex.token);
    assert_eq!(again.0, "hit");
    assert_eq!(first.1, again.1);
    let initech = rollup_cli(db, &["token", "--tenant", "initech", "--role", "admin"]);
    let before = fetch(&initech);
    assert_eq!(before.1, "[]", "initech has no views yet");
    assert_eq!(fetch(&initech).0, "hit");
    // New objects land in the lake (another tenant's); an ingest changes the data, so no stale answer.
    let more = lake_gen::generate(
        &Config {
            seed: 8,
            tenants: vec!["initech".into()],
            events: 5_000,
            // Flushed recently, as the edge writes new objects (a pull looks back 24 h from the newest).
            days: 1,
            now_ms,
            contents: 12,
            viewers: 50,
            object_events: 700,
            keep_truth: true,
            store_user_agent: Vec::new(),
        },
        std::path::Path::new(&fixture.lake),
    )
    .expect("generate more");
    let ingest = globex
        .http
        .post(format!("{}/admin/ingest", globex.base))
        .bearer_auth(&initech)
        .send()
        .expect("ingest");
    assert!(ingest.status().is_success(), "admin ingest");
    let after = fetch(&initech);
    assert_eq!(after.0, "miss", "the data changed");
    let rows: Value = serde_json::from_str(&after.1).expect("JSON");
    let views: i64 = rows
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["viewCount"].as_i64()).sum())
        .unwrap_or(0);
    assert_eq!(views, more.truth.len() as i64, "the new views are counted");
    let bots_left_out = generated.bot_views > 0;
    assert!(bots_left_out, "the dataset has bots to leave out");
    drop(server);
}

/// The views a Mux metric counts in `[from_ms, to_ms)`: by their start (engagement) or end (QoE).
fn mux_counted<'a>(
    views: &'a [TruthView],
    metric: &str,
    from_ms: i64,
    to_ms: i64,
    keep: &dyn Fn(&TruthView) -> bool,
) -> Vec<&'a TruthView> {
    views
        .iter()
        .filter(|v| {
            let at = if expected::mux_by_end(metric) {
                v.last_ms
            } else {
                v.started_ms
            };
            at >= from_ms && at < to_ms && keep(v)
        })
        .collect()
}

/// Compares a Mux answer's value (`null` when no view has one) with the expected.
fn check_mux_value(context: &str, got: &Value, want: Option<f64>) {
    match (got.as_f64(), want) {
        (Some(g), Some(w)) => assert!(close(g, w), "{context}: {g}, expected {w}"),
        (None, None) => {}
        (g, w) => panic!("{context}: {g:?}, expected {w:?}"),
    }
}

/// Whether two JSON values are equal, numbers compared as numbers (JavaScript writes `0.0` as `0`).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => close(
            x.as_f64().unwrap_or(f64::NAN),
            y.as_f64().unwrap_or(f64::NAN),
        ),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Mux's Data API over a generated lake: every measured metric overall (by view start or end as
/// Mux counts it, in a wide and a one-day timeframe), broken down by every dimension, as a time
/// series, with filters, metric filters and insights, through HTTP and through the official
/// `@mux/mux-node` client; and a metric Tapemetric does not measure is refused by name.
#[test]
fn mux_data_metrics_match_the_generated_truth() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 11,
        tenants: vec!["acme".into(), "globex".into()],
        events: 60_000,
        days: 10,
        now_ms,
        contents: 8,
        viewers: 200,
        object_events: 700,
        keep_truth: true,
        store_user_agent: Vec::new(),
    });
    let (generated, now_ms, db) = (&fixture.generated, fixture.now_ms, &fixture.db);
    fixture.ingest();
    let server = fixture.serve();
    let api = Api {
        base: server.base_url.clone(),
        token: rollup_cli(db, &["token", "--tenant", "acme"]),
        http: reqwest::blocking::Client::new(),
    };
    let acme: Vec<TruthView> = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "acme")
        .cloned()
        .collect();
    let all = |_: &TruthView| true;
    // Every view started and ended in it (they end hours before the dataset's now).
    let (from_s, to_s) = (
        (now_ms - 11 * 86_400_000) / 1000,
        (now_ms - 3_600_000) / 1000,
    );
    let (from_ms, to_ms) = (from_s * 1000, to_s * 1000);
    let timeframe = format!("timeframe[]={from_s}&timeframe[]={to_s}");
    // One day in the middle: views that span its edges count by start or by end.
    let day_s = (now_ms - 5 * 86_400_000) / 1000;
    let day = format!("timeframe[]={day_s}&timeframe[]={}", day_s + 86_400);
    let overall_of = |metric: &str,
                      range: &str,
                      (from, to): (i64, i64),
                      more: &str,
                      keep: &dyn Fn(&TruthView) -> bool| {
        let got = api.get(&format!("/data/v1/metrics/{metric}/overall?{range}{more}"));
        let counted = mux_counted(&acme, metric, from, to, keep);
        (got, counted)
    };
    let mut spanning = 0;
    for (metric, measurement) in expected::MUX_METRICS {
        for (name, range, window) in [
            ("wide", &timeframe, (from_ms, to_ms)),
            ("one day", &day, (day_s * 1000, (day_s + 86_400) * 1000)),
        ] {
            let (got, counted) = overall_of(metric, range, window, "", &all);
            let (want, views) = expected::mux_metric(&counted, metric, measurement, now_ms);
            let context = format!("{metric} overall ({name})");
            check_mux_value(&context, &got["data"]["value"], want);
            assert_eq!(
                got["data"]["total_views"].as_i64(),
                Some(views),
                "{context}: views"
            );
            let rule = if expected::mux_by_end(metric) {
                "view_end"
            } else {
                "view_start"
            };
            assert_eq!(got["meta"]["aggregation"], rule, "{context}");
            assert_eq!(
                got["timeframe"][0].as_i64(),
                Some(window.0 / 1000),
                "{context}"
            );
        }
        for other in ["95th", "avg"] {
            if measurement != "median" {
                continue;
            }
            let got = api.get(&format!(
                "/data/v1/metrics/{metric}/overall?{timeframe}&measurement={other}"
            ));
            let counted = mux_counted(&acme, metric, from_ms, to_ms, &all);
            let (want, _) = expected::mux_metric(&counted, metric, other, now_ms);
            check_mux_value(&format!("{metric} {other}"), &got["data"]["value"], want);
        }
    }
    // The day's edges matter: some views started the day before and ended in it.
    let (day_from, day_to) = (day_s * 1000, (day_s + 86_400) * 1000);
    spanning += acme
        .iter()
        .filter(|v| {
            (v.started_ms < day_from && v.last_ms >= day_from)
                || (v.started_ms < day_to && v.last_ms >= day_to)
        })
        .count();
    assert!(spanning > 0, "the one-day window cuts some views");
    assert!(
        acme.iter().any(|v| v.rebuffer_count > 1)
            && acme.iter().any(|v| !v.ended)
            && acme.iter().any(|v| v.business_exception)
            && acme.iter().any(|v| v.playback_failure)
            && acme.iter().any(|v| v.seek_count > 1),
        "the dataset has views with stalls, dropped views, both kinds of failure and seeks"
    );

    // Breakdowns by every dimension, for a median and a ratio.
    for metric in ["video_startup_time", "rebuffer_percentage", "views"] {
        let measurement = expected::MUX_METRICS
            .iter()
            .find(|m| m.0 == metric)
            .map_or("avg", |m| m.1);
        for (mux_name, api_name) in expected::MUX_DIMENSIONS {
            let got = api.get(&format!(
                "/data/v1/metrics/{metric}/breakdown?{timeframe}&group_by={mux_name}&limit=10000"
            ));
            let counted = mux_counted(&acme, metric, from_ms, to_ms, &all);
            let mut groups: BTreeMap<Option<String>, Vec<&TruthView>> = BTreeMap::new();
            for v in counted {
                groups
                    .entry(expected::dimension(v, api_name))
                    .or_default()
                    .push(v);
            }
            groups
                .retain(|_, views| expected::mux_metric(views, metric, measurement, now_ms).1 > 0);
            let rows = got["data"].as_array().expect("rows");
            let context = format!("{metric} by {mux_name}");
            assert_eq!(rows.len(), groups.len(), "{context}: {got}");
            assert_eq!(
                got["total_row_count"].as_u64(),
                Some(groups.len() as u64),
                "{context}"
            );
            let mut impacts = Vec::new();
            for row in rows {
                let field = row["field"].as_str().map(str::to_string);
                let views = groups
                    .get(&field)
                    .unwrap_or_else(|| panic!("{context}: unexpected {field:?}"));
                let (want, n) = expected::mux_metric(views, metric, measurement, now_ms);
                check_mux_value(&format!("{context} {field:?}"), &row["value"], want);
                assert_eq!(row["views"].as_i64(), Some(n), "{context} {field:?}");
                impacts.push(row["negative_impact"].as_i64().unwrap_or(-1));
            }
            let ranks: Vec<i64> = (1..=rows.len() as i64).collect();
            assert_eq!(
                impacts, ranks,
                "{context}: ranked by negative impact, worst (1) first by default"
            );
        }
    }

    // A time series by day (QoE: by view end), steps without views included.
    let series = api.get(&format!(
        "/data/v1/metrics/playback_failure_percentage/timeseries?{timeframe}&group_by=day"
    ));
    let points = series["data"].as_array().expect("points");
    let first_day = Step::Day.bucket(from_ms);
    assert_eq!(
        points.len() as i64,
        (to_ms - first_day + 86_399_999) / 86_400_000,
        "one point per day"
    );
    for (i, point) in points.iter().enumerate() {
        let start = first_day + i as i64 * 86_400_000;
        let label = expected::rfc3339(start);
        assert_eq!(point[0].as_str(), Some(label.as_str()), "{point}");
        let counted = mux_counted(
            &acme,
            "playback_failure_percentage",
            start.max(from_ms),
            (start + 86_400_000).min(to_ms),
            &all,
        );
        let (want, n) =
            expected::mux_metric(&counted, "playback_failure_percentage", "avg", now_ms);
        check_mux_value(&format!("failures on {label:?}"), &point[1], want);
        assert_eq!(point[2].as_i64(), Some(n), "{point}");
    }

    // Filters (include, exclude, several values of one dimension) and metric filters.
    let de_not_chrome = |v: &TruthView| v.place.country == "DE" && v.ua.browser != Some("Chrome");
    let (got, counted) = overall_of(
        "views",
        &timeframe,
        (from_ms, to_ms),
        "&filters[]=country:DE&filters[]=!browser:Chrome",
        &de_not_chrome,
    );
    assert_eq!(
        got["data"]["value"].as_f64(),
        Some(counted.len() as f64),
        "country:DE, !browser:Chrome"
    );
    assert!(!counted.is_empty());
    let de_or_us = |v: &TruthView| v.place.country == "DE" || v.place.country == "US";
    let (got, counted) = overall_of(
        "playing_time",
        &timeframe,
        (from_ms, to_ms),
        "&filters[]=country:DE&filters[]=country:US",
        &de_or_us,
    );
    check_mux_value(
        "DE or US",
        &got["data"]["value"],
        expected::mux_metric(&counted, "playing_time", "sum", now_ms).0,
    );
    let slow = |v: &TruthView| v.reached_first_frame && v.ttff_ms.is_some_and(|t| t >= 2_000);
    let (got, counted) = overall_of(
        "views",
        &timeframe,
        (from_ms, to_ms),
        "&metric_filters[]=video_startup_time%3E%3D2000",
        &slow,
    );
    assert_eq!(
        got["data"]["value"].as_f64(),
        Some(counted.len() as f64),
        "video_startup_time>=2000"
    );

    // Insights: the dimension values that hurt the failure rate, worst first, each with its rate.
    let insights = api.get(&format!(
        "/data/v1/metrics/playback_failure_percentage/insights?{timeframe}"
    ));
    let rows = insights["data"].as_array().expect("insights");
    assert!(!rows.is_empty(), "{insights}");
    let counted = mux_counted(&acme, "playback_failure_percentage", from_ms, to_ms, &all);
    let (overall, total) =
        expected::mux_metric(&counted, "playback_failure_percentage", "avg", now_ms);
    let overall = overall.expect("a failure rate");
    let mut previous = f64::INFINITY;
    for row in rows {
        let column = row["filter_column"].as_str().expect("column");
        let api_name = expected::MUX_DIMENSIONS
            .iter()
            .find(|d| d.0 == column)
            .expect("a dimension")
            .1;
        let value = row["filter_value"].as_str().map(str::to_string);
        let views: Vec<&TruthView> = counted
            .iter()
            .copied()
            .filter(|v| expected::dimension(v, api_name) == value)
            .collect();
        let (rate, n) = expected::mux_metric(&views, "playback_failure_percentage", "avg", now_ms);
        let rate = rate.expect("rate");
        check_mux_value(
            &format!("insight {column}={value:?}"),
            &row["metric"],
            Some(rate),
        );
        let impact = (rate - overall) * n as f64 / total as f64;
        check_mux_value(
            &format!("impact {column}={value:?}"),
            &row["negative_impact_score"],
            Some(impact),
        );
        assert!(impact <= previous + 1e-12, "worst first");
        previous = impact;
    }

    // Dimensions and their values.
    let dims = api.get("/data/v1/dimensions");
    let listed: Vec<&str> = ["basic", "advanced"]
        .iter()
        .flat_map(|k| dims["data"][k].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let mut want_dims: Vec<&str> = expected::MUX_DIMENSIONS.iter().map(|d| d.0).collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    want_dims.sort();
    assert_eq!(listed_sorted, want_dims);
    let values = api.get(&format!(
        "/data/v1/dimensions/country?{timeframe}&limit=1000"
    ));
    let mut want_countries: BTreeMap<String, i64> = BTreeMap::new();
    for v in mux_counted(&acme, "views", from_ms, to_ms, &all) {
        *want_countries
            .entry(v.place.country.to_string())
            .or_default() += 1;
    }
    let got_countries: BTreeMap<String, i64> = values["data"]
        .as_array()
        .expect("values")
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap_or("").to_string(),
                r["total_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(got_countries, want_countries);

    // Refusals: a metric not measured, an unknown dimension, a bad timeframe; in Mux's error shape.
    for (path, says) in [
        (
            "/data/v1/metrics/upscale_percentage/overall",
            "not measured",
        ),
        (
            "/data/v1/metrics/views/overall?filters[]=planet:mars",
            "unknown dimension `planet`",
        ),
        (
            "/data/v1/metrics/views/overall?timeframe[]=24:fortnights",
            "unit",
        ),
        ("/data/v1/metrics/views/breakdown", "`group_by` is required"),
        (
            "/data/v1/metrics/views/overall?measurement=median",
            "measured as `count` only",
        ),
    ] {
        let response = api
            .http
            .get(format!("{}{path}", api.base))
            .bearer_auth(&api.token)
            .send()
            .expect("GET");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: Value = response.json().expect("JSON");
        assert_eq!(
            body["error"]["type"], "invalid_parameters",
            "{path}: {body}"
        );
        let message = body["error"]["messages"][0].as_str().unwrap_or("");
        assert!(message.contains(says), "{path}: {message}");
    }

    // The official client, unchanged: the same numbers.
    let metrics: Vec<&str> = expected::MUX_METRICS.iter().map(|m| m.0).collect();
    let output = std::process::Command::new("node")
        .current_dir(pipeline_tests::repo_root())
        .args([
            "tests/mux_sdk_check.mjs",
            &server.base_url,
            &api.token,
            &from_s.to_string(),
            &to_s.to_string(),
            &metrics.join(","),
        ])
        .output()
        .expect("node");
    assert!(
        output.status.success(),
        "@mux/mux-node run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("client output is JSON");
    for (metric, measurement) in expected::MUX_METRICS {
        let counted = mux_counted(&acme, metric, from_ms, to_ms, &all);
        let (want, views) = expected::mux_metric(&counted, metric, measurement, now_ms);
        check_mux_value(
            &format!("client {metric}"),
            &seen["overall"][metric]["value"],
            want,
        );
        assert_eq!(
            seen["overall"][metric]["total_views"].as_i64(),
            Some(views),
            "client {metric}"
        );
    }
    // Every page of the breakdown, read by the client's own paging, ordered by field.
    let counted = mux_counted(&acme, "video_startup_time", from_ms, to_ms, &all);
    let mut by_country: BTreeMap<String, Vec<&TruthView>> = BTreeMap::new();
    for v in counted
        .iter()
        .filter(|v| v.reached_first_frame && v.ttff_ms.is_some())
    {
        by_country
            .entry(v.place.country.to_string())
            .or_default()
            .push(v);
    }
    let pages: Vec<(String, Option<f64>)> = seen["breakdown"]
        .as_array()
        .expect("breakdown")
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap_or("").to_string(),
                r["value"].as_f64(),
            )
        })
        .collect();
    assert!(by_country.len() > 2, "more than one page");
    assert_eq!(pages.len(), by_country.len(), "{pages:?}");
    for ((field, value), (country, views)) in pages.iter().zip(&by_country) {
        assert_eq!(field, country);
        check_mux_value(
            &format!("client breakdown {country}"),
            &serde_json::json!(value),
            expected::mux_metric(views, "video_startup_time", "median", now_ms).0,
        );
    }
    let de_views = mux_counted(&acme, "views", from_ms, to_ms, &de_not_chrome).len() as f64;
    assert_eq!(
        seen["filtered"]["value"].as_f64(),
        Some(de_views),
        "client filters"
    );
    let slow_views = mux_counted(&acme, "views", from_ms, to_ms, &slow).len() as f64;
    assert_eq!(
        seen["slowStarts"]["value"].as_f64(),
        Some(slow_views),
        "client metric filters"
    );
    assert!(
        same_json(&seen["timeseries"]["data"], &series["data"]),
        "client time series"
    );
    assert_eq!(seen["timeseries"]["meta"]["granularity"], "day");
    assert!(
        same_json(&seen["insights"], &insights["data"]),
        "client insights"
    );
    // Every metric of one country: a row of totals, then each score with its parts.
    let de = |v: &TruthView| v.place.country == "DE";
    let comparison = seen["comparison"].as_array().expect("comparison");
    let totals = &comparison[0];
    assert_eq!(totals["name"], "totals");
    let count = |metric: &str| mux_counted(&acme, metric, from_ms, to_ms, &de).len() as i64;
    assert_eq!(totals["started_views"].as_i64(), Some(count("views")));
    assert_eq!(
        totals["ended_views"].as_i64(),
        Some(count("rebuffer_score"))
    );
    let mut listed = BTreeSet::new();
    for row in comparison[1..]
        .iter()
        .flat_map(|r| std::iter::once(r).chain(r["items"].as_array().into_iter().flatten()))
    {
        let metric = row["metric"].as_str().expect("metric");
        let measurement = row["measurement"].as_str().unwrap_or_else(|| {
            let listed = expected::MUX_METRICS.iter().find(|m| m.0 == metric);
            listed.expect("measured").1
        });
        let counted = mux_counted(&acme, metric, from_ms, to_ms, &de);
        let (want, _) = expected::mux_metric(&counted, metric, measurement, now_ms);
        check_mux_value(
            &format!("client comparison {metric} {measurement}"),
            &row["value"],
            want,
        );
        listed.insert(metric);
    }
    assert_eq!(
        listed.len(),
        expected::MUX_METRICS.len(),
        "every measured metric: {listed:?}"
    );
    assert!(
        same_json(&seen["dimensions"], &dims["data"]),
        "client dimensions"
    );
    let mut top: Vec<(String, i64)> = want_countries.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let client_countries: Vec<(String, i64)> = seen["countries"]
        .as_array()
        .expect("countries")
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap_or("").to_string(),
                r["total_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        client_countries, top,
        "every page of the values, most views first"
    );
    assert_eq!(
        seen["notMeasured"]["status"], 400,
        "{}",
        seen["notMeasured"]
    );
    assert!(seen["notMeasured"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("not measured"));
    assert_eq!(seen["badFilter"]["status"], 400);

    // Another tenant's token sees only its own views.
    let globex = Api {
        token: rollup_cli(db, &["token", "--tenant", "globex"]),
        ..api
    };
    let theirs: Vec<TruthView> = generated
        .truth
        .iter()
        .filter(|v| v.tenant_id == "globex")
        .cloned()
        .collect();
    let got = globex.get(&format!("/data/v1/metrics/views/overall?{timeframe}"));
    assert_eq!(
        got["data"]["value"].as_f64(),
        Some(mux_counted(&theirs, "views", from_ms, to_ms, &all).len() as f64)
    );
    drop(server);
}
