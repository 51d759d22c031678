//! The NDJSON batch loader: any bytes, gzip-compressed as a lake object, load into a real DuckDB store
//! (lines that are not events are skipped) or fail with an error, never a panic; counts add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_server::store::{ObjectRecord, Store};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

struct World {
    store: Mutex<Store>,
    dir: std::path::PathBuf,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tapemetric-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        // In memory: no fsync per load, so many more executions per second.
        let store = Store::open(std::path::Path::new(":memory:")).expect("store");
        World {
            store: Mutex::new(store),
            dir,
        }
    })
}

fuzz_target!(|ndjson: &[u8]| {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let world = world();
    let path = world.dir.join("object.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(ndjson).expect("gzip");
    std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
    let key = format!("events/v1/date=2026-11-25/hour=00/tenant=fuzz/{n:026}.ndjson.gz");
    let record = ObjectRecord {
        key: &key,
        tenant_id: Some("fuzz"),
        uploaded_ms: 1,
        loaded_at_ms: 1,
    };
    let mut store = world.store.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(outcomes) = store.load_files(&[record], &[path.to_string_lossy().into_owned()]) {
        assert_eq!(outcomes.len(), 1);
        let lines = ndjson.split(|b| *b == b'\n').count() as u64;
        assert!(outcomes[0].inserted + outcomes[0].duplicates <= lines.max(1));
    }
});
