//! Crash safety: `rollup-server ingest` is killed with SIGKILL at pseudo-random points of a pull, 20
//! times, then allowed to finish. The database must then hold exactly the generated dataset: every
//! distinct event once, every view once, every object recorded once (nothing lost, nothing doubled).

use lake_gen::{Config, Rng};
use pipeline_tests::{rollup_cli, rollup_command, GeneratedLake};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

fn stats(db: &std::path::Path) -> BTreeMap<String, (i64, i64, i64)> {
    let out: Value = serde_json::from_str(&rollup_cli(db, &["stats"])).expect("stats JSON");
    out["tenants"]
        .as_object()
        .map(|tenants| {
            tenants
                .iter()
                .map(|(t, f)| {
                    let n = |k: &str| f[k].as_i64().unwrap_or(-1);
                    (t.clone(), (n("events"), n("views"), n("objects")))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn killing_the_loader_twenty_times_loses_and_doubles_nothing() {
    let fixture = GeneratedLake::new(|now_ms| Config {
        seed: 11,
        tenants: vec!["acme".into(), "globex".into()],
        events: 150_000,
        days: 10,
        now_ms,
        contents: 20,
        viewers: 500,
        object_events: 400,
        keep_truth: true,
        store_user_agent: vec!["globex".into()],
    });
    let (generated, db, lake_arg) = (&fixture.generated, &fixture.db, &fixture.lake);
    let mut rng = Rng::new(2026);
    let mut interrupted = 0;
    for round in 0..20 {
        let mut child = rollup_command(db, "http://127.0.0.1:9")
            .args([
                "--lake-dir",
                lake_arg,
                "--retention-days",
                "400",
                // One object per transaction: loads are fast now, and many small transactions keep
                // the kills landing mid-pull.
                "--chunk-objects",
                "1",
            ])
            .args(["ingest", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ingest");
        std::thread::sleep(Duration::from_millis(rng.between(50, 700) as u64));
        let finished = matches!(child.try_wait(), Ok(Some(_)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let objects: i64 = stats(db).values().map(|f| f.2).sum();
        if !finished && objects < generated.objects as i64 {
            interrupted += 1;
        }
        eprintln!(
            "round {round}: {objects}/{} objects loaded when killed",
            generated.objects
        );
    }
    assert!(interrupted >= 5, "only {interrupted} kills landed mid-pull");
    fixture.ingest();
    let after = stats(db);
    let events: i64 = after.values().map(|f| f.0).sum();
    let objects: i64 = after.values().map(|f| f.2).sum();
    assert_eq!(
        events, generated.distinct_events as i64,
        "every distinct event exactly once"
    );
    assert_eq!(
        objects, generated.objects as i64,
        "every object recorded once"
    );
    for tenant in ["acme", "globex"] {
        let views = generated
            .truth
            .iter()
            .filter(|v| v.tenant_id == tenant)
            .count() as i64;
        assert_eq!(after[tenant].1, views, "{tenant}: every view exactly once");
    }
}
