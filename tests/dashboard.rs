//! The dashboard in headless Chromium against the real pipeline: a known dataset travels edge worker
//! -> R2 -> rollup server, then `tests/dashboard_check.mjs` signs in with the dev token the server
//! hands out (`--dev-token-file`), checks that the page's headline numbers equal the query API's,
//! applies a content and a country filter, creates and revokes a key, and saves screenshots at
//! desktop and mobile widths under `<target dir>/test-artefacts/dashboard/`.

use pipeline_tests::{counts_by, rollup_cli, start_rollup_server_with, start_worker, Running};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const TENANT: &str = "dash-demo";
const EMPTY_TENANT: &str = "dash-empty";
const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One view: its viewer, content, and what happened (time to first frame, watched and rebuffer ms,
/// a fatal error, or an exit before the first frame).
struct View {
    id: &'static str,
    viewer: &'static str,
    content: &'static str,
    ttff_ms: Option<i64>,
    watched_ms: i64,
    rebuffer_ms: i64,
    fatal_error: bool,
}

/// A batch of views sent from one browser in one country.
struct Audience {
    user_agent: &'static str,
    geo: &'static str,
    page_url: &'static str,
    views: &'static [View],
}

const fn view(id: &'static str, viewer: &'static str, content: &'static str) -> View {
    View {
        id,
        viewer,
        content,
        ttff_ms: None,
        watched_ms: 0,
        rebuffer_ms: 0,
        fatal_error: false,
    }
}

/// The known dataset. Its expected figures (below, in `expected_*`) are worked out by hand.
const AUDIENCES: &[Audience] = &[
    Audience {
        user_agent: CHROME_UA,
        geo: "country=DE;continent=EU;timezone=Europe/Berlin",
        page_url: "https://shop.example/watch/bunny",
        views: &[
            View {
                ttff_ms: Some(400),
                watched_ms: 60_000,
                ..view("va1", "anon-a1", "big-buck-bunny")
            },
            View {
                ttff_ms: Some(800),
                watched_ms: 120_000,
                rebuffer_ms: 3_000,
                ..view("va2", "anon-a2", "big-buck-bunny")
            },
            View {
                ttff_ms: Some(600),
                watched_ms: 30_000,
                ..view("va3", "anon-a1", "sintel")
            },
        ],
    },
    Audience {
        user_agent: FIREFOX_UA,
        geo: "country=FR;continent=EU;timezone=Europe/Paris",
        page_url: "https://blog.example/films",
        views: &[
            View {
                ttff_ms: Some(1_200),
                watched_ms: 45_000,
                fatal_error: true,
                ..view("vb1", "anon-b1", "sintel")
            },
            View {
                fatal_error: true,
                ..view("vb2", "anon-b2", "big-buck-bunny")
            },
        ],
    },
    Audience {
        user_agent: IPHONE_UA,
        geo: "country=US;continent=NA;timezone=America/New_York",
        page_url: "https://shop.example/watch/bunny",
        // Leaves before the first frame.
        views: &[view("vc1", "anon-c1", "big-buck-bunny")],
    },
];

/// The events of one view, `age_ms` ago.
fn events_of(v: &View, page_url: &str, age_ms: i64) -> Vec<Value> {
    let start = now_ms() - age_ms;
    let base = |kind: &str, offset_ms: i64| {
        json!({"type": kind, "ts": start + offset_ms, "eid": format!("{}-{kind}", v.id),
               "anonymous_id": v.viewer, "session_id": format!("s-{}", v.viewer), "view_id": v.id,
               "content_id": v.content, "content_type": "film", "page_url": page_url})
    };
    let mut events = vec![base("view_start", 0)];
    if let Some(ttff) = v.ttff_ms {
        let mut first_frame = base("first_frame", ttff);
        first_frame["ttff_ms"] = json!(ttff);
        events.push(first_frame);
    }
    if v.watched_ms > 0 || v.rebuffer_ms > 0 {
        let mut heartbeat = base("heartbeat", 5_000);
        heartbeat["watched_ms"] = json!(v.watched_ms);
        heartbeat["rebuffer_ms"] = json!(v.rebuffer_ms);
        heartbeat["played"] = json!([[0, v.watched_ms as f64 / 1000.0]]);
        events.push(heartbeat);
    }
    if v.fatal_error {
        let mut error = base("error", 6_000);
        error["fatal"] = json!(true);
        error["error_code"] = json!("MEDIA_ERR_DECODE");
        events.push(error);
    }
    events.push(base("view_end", 7_000));
    events
}

struct Pipeline {
    worker: Running,
    server: Running,
    db: PathBuf,
    http: Client,
}

impl Pipeline {
    fn token(&self, tenant: &str, role: &str) -> String {
        rollup_cli(&self.db, &["token", "--tenant", tenant, "--role", role])
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.server.base_url))
            .bearer_auth(token)
            .send()
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn post_events(&self, key: &str, user_agent: &str, geo: &str, events: Vec<Value>) -> u16 {
        self.http
            .post(format!("{}/v1/events", self.worker.base_url))
            .bearer_auth(key)
            .header("User-Agent", user_agent)
            .header("X-Tapemetric-Dev-Geo", geo)
            .json(&json!({ "events": events }))
            .send()
            .expect("post events")
            .status()
            .as_u16()
    }

    /// Sends the dataset with a fresh key of `TENANT` and loads it.
    fn load_dataset(&self, admin: &str) {
        let created: Value = self
            .http
            .post(format!("{}/api/v1/keys", self.server.base_url))
            .bearer_auth(admin)
            .json(&json!({"name": "dataset"}))
            .send()
            .expect("create key")
            .json()
            .expect("key JSON");
        let key = created["key"].as_str().expect("key");
        for audience in AUDIENCES {
            let events: Vec<Value> = audience
                .views
                .iter()
                .flat_map(|v| events_of(v, audience.page_url, 10 * 60_000))
                .collect();
            let status = self.post_events(key, audience.user_agent, audience.geo, events);
            assert_eq!(status, 202, "worker log:\n{}", self.worker.log_tail());
        }
        let ingest = self
            .http
            .post(format!("{}/admin/ingest", self.server.base_url))
            .bearer_auth(admin)
            .send()
            .expect("ingest");
        assert!(ingest.status().is_success(), "{}", self.server.log_tail());
    }
}

/// `<target dir>/test-artefacts/dashboard` (or `$TAPEMETRIC_ARTEFACTS/dashboard`).
fn artefact_dir() -> PathBuf {
    let root = std::env::var_os("TAPEMETRIC_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .map(|target| target.join("test-artefacts"))
                .unwrap_or_else(|| PathBuf::from("target/test-artefacts"))
        });
    root.join("dashboard")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The dataset's figures, worked out by hand, as the query API must answer them.
fn api_answers_the_known_dataset(p: &Pipeline, viewer: &str) {
    let (status, all) = p.get("/data/views/query", viewer);
    assert_eq!(status, 200, "{all}");
    let all = &all[0];
    assert_eq!(all["viewCount"], 6, "{all}");
    assert_eq!(all["uniqueViewers"], 5, "{all}"); // anon-a1 watched twice
    assert!(
        close(
            all["playtimeMins"].as_f64().unwrap_or(-1.0),
            255_000.0 / 60_000.0
        ),
        "{all}"
    );
    assert!(
        close(all["ttffMs"].as_f64().unwrap_or(-1.0), 700.0),
        "median of 400, 600, 800, 1200: {all}"
    );
    assert!(
        close(all["errorRate"].as_f64().unwrap_or(-1.0), 2.0 / 6.0),
        "{all}"
    );
    assert!(
        close(all["exitsBeforeStart"].as_f64().unwrap_or(-1.0), 1.0 / 6.0),
        "{all}"
    );
    assert!(
        close(
            all["rebufferRatio"].as_f64().unwrap_or(-1.0),
            3_000.0 / 258_000.0
        ),
        "{all}"
    );

    let (_, bunny) = p.get("/data/views/query?playbackId=big-buck-bunny", viewer);
    assert_eq!(bunny[0]["viewCount"], 4, "{bunny}");
    assert_eq!(bunny[0]["uniqueViewers"], 4, "{bunny}");

    let (_, countries) = p.get("/data/views/query?breakdownBy[]=country", viewer);
    assert_eq!(
        counts_by(&countries, "country", "viewCount"),
        vec![("DE".into(), 3), ("FR".into(), 2), ("US".into(), 1)],
        "{countries}"
    );
}

#[test]
fn dashboard_shows_the_apis_numbers_filters_and_revokes_keys() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    let worker = start_worker(&scratch.path().join("wrangler-state"), &logs);
    let db = scratch.path().join("tapemetric.duckdb");
    let admin = rollup_cli(&db, &["token", "--tenant", TENANT, "--role", "admin"]);
    let dev_token_file = scratch.path().join("dev-token");
    std::fs::write(&dev_token_file, &admin).expect("dev token file");
    let dev_token_arg = dev_token_file.to_string_lossy().into_owned();
    let server = start_rollup_server_with(
        &db,
        &worker.base_url,
        &logs,
        &["--dev-token-file", &dev_token_arg],
    );
    let p = Pipeline {
        worker,
        server,
        db,
        http: Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("client"),
    };
    p.load_dataset(&admin);
    api_answers_the_known_dataset(&p, &p.token(TENANT, "viewer"));

    let artefacts = artefact_dir();
    std::fs::create_dir_all(&artefacts).expect("artefact dir");
    let output = std::process::Command::new("node")
        .current_dir(pipeline_tests::repo_root())
        .arg("tests/dashboard_check.mjs")
        .args([&p.server.base_url, &admin, &p.token(EMPTY_TENANT, "viewer")])
        .arg(&artefacts)
        .output()
        .expect("node");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "dashboard check failed (screenshots so far in {})\nserver log:\n{}",
        artefacts.display(),
        p.server.log_tail()
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the check prints JSON");

    // The key the page created and revoked is refused by the edge.
    assert_eq!(
        seen["countryFilter"], "applied",
        "the country filter changed the numbers"
    );
    let key = seen["revokedKey"].as_str().expect("revoked key");
    let (status, keys) = p.get("/api/v1/keys", &admin);
    assert_eq!(status, 200);
    let listed = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["key_id"] == seen["revokedKeyId"])
        .cloned()
        .unwrap_or_default();
    assert!(listed["revoked_at_ms"].is_i64(), "{keys}");
    let status = p.post_events(
        key,
        CHROME_UA,
        "country=DE",
        events_of(&view("vz", "anon-z", "c"), "https://x.example/", 0),
    );
    assert_eq!(status, 401, "a key revoked in the dashboard still writes");

    println!(
        "dashboard screenshots: {}\n{}",
        artefacts.display(),
        serde_json::to_string_pretty(&seen["screenshots"]).unwrap_or_default()
    );
}
