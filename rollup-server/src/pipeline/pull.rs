//! One pull: (optionally) make the edge flush, push revocations, list lake objects after the cursor
//! with a look-back, and load each object not loaded yet, each in its own transaction.

use crate::clock::now_ms;
use crate::fold::seen::SeenIds;
use crate::fold::{fold_chunk, FoldedChunk};
use crate::source::{tenant_of_key, FlushReport, Lake, LakeError, ListedObject};
use crate::store::{ObjectRecord, Store, StoreError};
use event_schema::batch_key::BatchObjectKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The store, shared between the scheduler, the API and on-demand pulls.
pub type SharedStore = Arc<Mutex<Store>>;

/// What went wrong in a pull.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a background task failed: {0}")]
    TaskFailed(String),
}

/// Per-tenant figures of a pull.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TenantPull {
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates_skipped: u64,
    /// Objects left out whole (not gzip, too large), listed by `GET /admin/quarantine`.
    pub objects_quarantined: u64,
    /// Lines left out (not events, or values that cannot happen), listed likewise.
    pub lines_quarantined: u64,
}

/// What one pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullReport {
    pub flushed: Option<FlushReport>,
    pub objects_listed: u64,
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates_skipped: u64,
    pub objects_quarantined: u64,
    pub lines_quarantined: u64,
    pub tenants: BTreeMap<String, TenantPull>,
    /// Where the load time went (seconds), when objects were loaded.
    pub seconds: Option<crate::store::LoadTimings>,
}

/// Runs `work` on the store in a blocking thread.
///
/// A panic in `work` fails that one call (an error for its caller), not the store: the lock is taken
/// back from a panicked holder, because nothing of the store's state is left half-changed by one (an
/// open DuckDB transaction rolls back when dropped; the rest is counters), and a poisoned lock would
/// fail every tenant's reads and pulls until a restart.
pub async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    work: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PullError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock().unwrap_or_else(|poisoned| {
            store.clear_poison();
            poisoned.into_inner()
        });
        work(&mut guard).map_err(PullError::from)
    })
    .await
    .map_err(|e| PullError::TaskFailed(e.to_string()))?
}

/// How a pull runs.
#[derive(Debug, Clone, Copy)]
pub struct PullOptions {
    /// Ask the edge to write out its buffers first.
    pub flush_first: bool,
    /// How far before the newest loaded object to look for late objects.
    pub lookback_ms: i64,
    /// Most objects loaded in one transaction.
    pub chunk_objects: usize,
}
/// A transaction closes once it holds this many gzip bytes (about 1.5 M events).
const CHUNK_BYTES: u64 = 64_000_000;
/// Objects fetched at once.
const FETCH_CONCURRENCY: usize = 4;

/// Pulls every new lake object into the store: objects are fetched a few at a time and loaded in
/// chunks, each chunk (its events, the views they touch, and the record of its objects) in one
/// transaction.
pub async fn pull_once(
    store: &SharedStore,
    lake: &Lake,
    options: PullOptions,
) -> Result<PullReport, PullError> {
    let PullOptions {
        flush_first,
        lookback_ms,
        chunk_objects,
    } = options;
    let mut report = PullReport::default();
    if flush_first {
        report.flushed = lake.flush().await?;
    }
    push_key_policies(store, lake).await?;
    let newest = with_store(store, |s| s.newest_loaded_upload_ms()).await?;
    // Look back from the newest loaded object so that objects landing late, under older names, are
    // still found; objects already loaded are skipped by key.
    let start_after = newest
        .map(|ms| BatchObjectKey::listing_start_for(ms - lookback_ms))
        .unwrap_or_default();
    let listed = lake.list_after(&start_after).await?;
    report.objects_listed = listed.len() as u64;
    let window_start = start_after.clone();
    let loaded = with_store(store, move |s| s.loaded_object_keys_after(&window_start)).await?;
    let pending: Vec<ListedObject> = listed
        .into_iter()
        .filter(|o| !loaded.contains(&o.key))
        .collect();
    let pending_total = pending.len();
    if pending_total == 0 {
        return Ok(report);
    }
    tracing::info!(objects = pending_total, "loading new batch objects");
    let started = std::time::Instant::now();
    let timings_before = with_store(store, |s| Ok(s.load_timings())).await?;
    let (mut done, mut bytes) = (0usize, 0u64);
    // Chunks are fetched and decoded one ahead of the store: decoding needs no database, so the
    // next chunk decodes while the store takes this one.
    let pending_bytes: u64 = pending.iter().map(|o| o.size).sum();
    let mut chunks = split_chunks(pending, chunk_objects).into_iter();
    let pull = with_store(store, |s| s.next_pull()).await?;
    let seen = Arc::new(SeenIds::for_pull(pull, pending_bytes));
    let mut ahead = chunks
        .next()
        .map(|c| tokio::spawn(fetch_and_decode(lake.clone(), c, seen.clone())));
    while let Some(handle) = ahead.take() {
        let (chunk, blobs, decoded) = handle
            .await
            .map_err(|e| PullError::TaskFailed(e.to_string()))??;
        ahead = chunks
            .next()
            .map(|c| tokio::spawn(fetch_and_decode(lake.clone(), c, seen.clone())));
        let loaded_at_ms = now_ms();
        let decoding = ahead.is_some();
        let stored = with_store(store, move |s| {
            let records: Vec<ObjectRecord<'_>> = chunk
                .iter()
                .map(|object| ObjectRecord {
                    key: &object.key,
                    tenant_id: tenant_of_key(&object.key),
                    uploaded_ms: object.uploaded_ms,
                    loaded_at_ms,
                })
                .collect();
            let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
            let outcomes = s.load_folded_beside(&records, &refs, decoded, decoding)?;
            drop(records);
            Ok((chunk, outcomes))
        })
        .await;
        let (chunk, outcomes) = match stored {
            Ok(stored) => stored,
            Err(e) => {
                if let Some(next) = ahead.take() {
                    next.abort();
                }
                return Err(e);
            }
        };
        for (object, outcome) in chunk.iter().zip(outcomes) {
            if !outcome.newly_loaded {
                continue;
            }
            let whole = u64::from(outcome.quarantined_object.is_some());
            report.objects_loaded += 1;
            report.events_loaded += outcome.inserted;
            report.duplicates_skipped += outcome.duplicates;
            report.objects_quarantined += whole;
            report.lines_quarantined += outcome.quarantined_lines;
            let tenant = tenant_of_key(&object.key).unwrap_or("unknown").to_string();
            let entry = report.tenants.entry(tenant).or_default();
            entry.objects_loaded += 1;
            entry.events_loaded += outcome.inserted;
            entry.duplicates_skipped += outcome.duplicates;
            entry.objects_quarantined += whole;
            entry.lines_quarantined += outcome.quarantined_lines;
        }
        done += chunk.len();
        bytes += chunk.iter().map(|object| object.size).sum::<u64>();
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            progress = format!("{done}/{pending_total} objects"),
            gzip_mb = bytes / 1_000_000,
            events = report.events_loaded,
            duplicates = report.duplicates_skipped,
            events_per_s = (report.events_loaded as f64 / seconds.max(1e-9)) as u64,
            "loaded a chunk of batch objects (events, views and object records in one transaction)"
        );
    }
    let compact_started = std::time::Instant::now();
    if with_store(store, |s| s.compact_views()).await? {
        tracing::info!(
            seconds = compact_started.elapsed().as_secs_f64(),
            "rewrote views in tenant order"
        );
    }
    let after = with_store(store, |s| Ok(s.load_timings())).await?;
    report.seconds = Some(crate::store::LoadTimings {
        read_s: after.read_s - timings_before.read_s,
        store_s: after.store_s - timings_before.store_s,
        views_s: after.views_s - timings_before.views_s,
        commit_s: after.commit_s - timings_before.commit_s,
    });
    Ok(report)
}

/// Splits pending objects into chunks of at most `chunk_objects` objects and about [`CHUNK_BYTES`];
/// the first chunk holds an eighth of that, so the store starts while the rest still decodes (with
/// one big first chunk, a large pull decoded two seconds before storing anything).
fn split_chunks(pending: Vec<ListedObject>, chunk_objects: usize) -> Vec<Vec<ListedObject>> {
    let mut chunks: Vec<Vec<ListedObject>> = Vec::new();
    let mut chunk_bytes = 0u64;
    for object in pending {
        let budget = if chunks.len() == 1 {
            CHUNK_BYTES / 8
        } else {
            CHUNK_BYTES
        };
        let full = chunks
            .last()
            .is_none_or(|c| c.len() >= chunk_objects.max(1) || chunk_bytes >= budget);
        if full {
            chunks.push(Vec::new());
            chunk_bytes = 0;
        }
        chunk_bytes += object.size;
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(object);
        }
    }
    chunks
}

/// Fetches a chunk's objects (a few at a time, in order) and decodes them on blocking threads.
async fn fetch_and_decode(
    lake: Lake,
    chunk: Vec<ListedObject>,
    seen: Arc<SeenIds>,
) -> Result<(Vec<ListedObject>, Vec<Vec<u8>>, FoldedChunk), PullError> {
    let mut blobs: Vec<Vec<u8>> = vec![Vec::new(); chunk.len()];
    if let Lake::Dir(dir) = &lake {
        // Local files: read them in one blocking task (a task per small file costs more).
        let (dir, keys) = (
            dir.clone(),
            chunk.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
        );
        blobs = tokio::task::spawn_blocking(move || {
            keys.iter()
                .map(|key| dir.read(key))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| PullError::TaskFailed(e.to_string()))??;
    }
    let mut fetching = tokio::task::JoinSet::new();
    let mut keys = chunk
        .iter()
        .map(|o| o.key.clone())
        .enumerate()
        .filter(|_| matches!(lake, Lake::Edge(_)));
    loop {
        while fetching.len() < FETCH_CONCURRENCY {
            let Some((index, key)) = keys.next() else {
                break;
            };
            let lake = lake.clone();
            fetching.spawn(async move { (index, lake.fetch(&key).await) });
        }
        let Some(joined) = fetching.join_next().await else {
            break;
        };
        let (index, bytes) = joined.map_err(|e| PullError::TaskFailed(e.to_string()))?;
        blobs[index] = bytes?;
    }
    let (blobs, decoded) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
        let decoded = fold_chunk(&refs, Some(&seen));
        drop(refs);
        (blobs, decoded)
    })
    .await
    .map_err(|e| PullError::TaskFailed(e.to_string()))?;
    Ok((chunk, blobs, decoded))
}

/// Pushes the key policy document to the edge. An unreachable edge is logged, not an error: the
/// 30-second sync and the next pull retry.
pub async fn push_key_policies(store: &SharedStore, lake: &Lake) -> Result<bool, PullError> {
    let Some(lake) = lake.edge() else {
        return Ok(false);
    };
    let policies = with_store(store, |s| s.key_policies()).await?;
    match lake.push_key_policies(&policies).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "key policies not pushed to the edge yet; retrying within 30 s");
            Ok(false)
        }
    }
}

/// Deletes events older than `retention_ms`, and the views started before then (see
/// [`Store::apply_retention`]); returns that time.
pub async fn expire_events(store: &SharedStore, retention_ms: i64) -> Result<i64, PullError> {
    let cutoff_ms = now_ms() - retention_ms;
    let expired = with_store(store, move |s| s.apply_retention(cutoff_ms)).await?;
    if expired > 0 {
        tracing::info!(events = expired, "retention: deleted expired events");
    }
    Ok(cutoff_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(n: usize, size: u64) -> Vec<ListedObject> {
        (0..n)
            .map(|i| ListedObject {
                key: format!("k{i:05}"),
                size,
                uploaded_ms: 0,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_panic_inside_the_store_fails_that_call_only() {
        let store: SharedStore = Arc::new(Mutex::new(Store::open_in_memory().expect("store")));
        let panicked = with_store(&store, |_| -> Result<(), StoreError> {
            panic!("a bug in one load")
        })
        .await;
        assert!(
            matches!(panicked, Err(PullError::TaskFailed(_))),
            "{panicked:?}"
        );
        let after = with_store(&store, |s| s.loaded_object_count()).await;
        assert_eq!(after.expect("the store answers after the panic"), 0);
        assert!(!store.is_poisoned());
    }

    #[test]
    fn chunks_keep_order_and_bounds_and_the_first_is_small() {
        let chunks = split_chunks(objects(3000, 100_000), 2000);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        // 64 MB chunks of 0.1 MB objects, after a first chunk of 8 MB.
        assert_eq!(sizes[0], 80);
        assert!(sizes[1..sizes.len() - 1].iter().all(|&n| n == 640));
        assert_eq!(sizes.iter().sum::<usize>(), 3000);
        let keys: Vec<&str> = chunks.iter().flatten().map(|o| o.key.as_str()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "in order, none lost");
        // The object count bounds a chunk too.
        let by_count = split_chunks(objects(50, 10), 20);
        assert_eq!(
            by_count.iter().map(Vec::len).collect::<Vec<_>>(),
            [20, 20, 10]
        );
    }
}
