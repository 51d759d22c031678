//! The NDJSON batch loader: any bytes, as a lake object (gzip-compressed, and also taken as the raw
//! object bytes), decode into events (lines that are not events are skipped) or fail with an error,
//! never a panic; every line is counted once, and the fast line scanner agrees with serde_json on
//! it. One input in 64 also goes through a whole load into a real (in-memory) DuckDB store.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_server::fold::fold_objects;
use rollup_server::store::{ObjectRecord, Store};
use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

fn store() -> &'static Mutex<Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    // In memory: no fsync per load, so many more executions per second.
    STORE.get_or_init(|| Mutex::new(Store::open(std::path::Path::new(":memory:")).expect("store")))
}

fuzz_target!(|ndjson: &[u8]| {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(ndjson).expect("gzip");
    let object = gz.finish().expect("gzip");

    // The fast line scanner reads every line as serde_json does, or leaves it to serde_json.
    for line in ndjson.split(|b| *b == b'\n') {
        assert!(rollup_server::decode::line::fast_path_agrees(line));
    }

    // Arbitrary bytes as the object itself: quarantined or events, never a panic.
    let raw = fold_objects(&[ndjson], &HashSet::new(), 1, None);
    assert!(raw.events() == 0 || raw.quarantine.iter().all(|q| q.line.is_some()));

    let load = fold_objects(&[&object], &HashSet::new(), 1, None);
    assert!(
        load.quarantine.iter().all(|q| q.line.is_some()),
        "valid gzip decodes: {:?}",
        load.quarantine
    );
    let lines = ndjson
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count() as u64;
    let c = load.per_object[0];
    assert_eq!(c.inserted + c.duplicates + c.rejected, lines);
    assert_eq!(c.inserted as usize, load.events());

    if n % 64 == 0 {
        let key = format!("events/v1/date=2026-11-25/hour=00/tenant=fuzz/{n:026}.ndjson.gz");
        let record = ObjectRecord {
            key: &key,
            tenant_id: Some("fuzz"),
            uploaded_ms: 1,
            loaded_at_ms: 1,
        };
        let mut store = store().lock().unwrap_or_else(|e| e.into_inner());
        let outcomes = store
            .load_objects(&[record], &[&object])
            .expect("a decodable object loads");
        assert_eq!(outcomes.len(), 1);
        assert!(outcomes[0].inserted + outcomes[0].duplicates <= lines);
    }
});
