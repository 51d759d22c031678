//! Known answers through HTTP: a generated dataset (lake-gen, whose expected values come from its own
//! truth, not from the server) is loaded by `rollup-server ingest --lake-dir`, and every metric, every
//! breakdown dimension, every time step, filters, the mave plays/sources/engagement answers and tenant
//! isolation are checked against the expectations through the running server's API.

use lake_gen::expected::{self, GroupKey, Metrics, Step, DIMENSIONS};
use lake_gen::{Config, TruthView};
use pipeline_tests::{rollup_cli, GeneratedLake};
use serde_json::Value;
use std::collections::BTreeMap;

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
