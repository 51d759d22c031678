//! One pull: (optionally) make the edge flush, push revocations, list lake objects after the cursor
//! with a look-back, and load each object not loaded yet, each in its own transaction.

use crate::lake::{tenant_of_key, FlushReport, Lake, LakeError, ListedObject};
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
    #[error("the store is unavailable: {0}")]
    Poisoned(String),
}

/// Per-tenant figures of a pull.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TenantPull {
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates_skipped: u64,
}

/// What one pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullReport {
    pub flushed: Option<FlushReport>,
    pub objects_listed: u64,
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates_skipped: u64,
    pub tenants: BTreeMap<String, TenantPull>,
    /// Where the load time went (seconds), when objects were loaded.
    pub seconds: Option<crate::store::LoadTimings>,
}

/// Runs `work` on the store in a blocking thread.
pub async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    work: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PullError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store
            .lock()
            .map_err(|e| PullError::Poisoned(e.to_string()))?;
        work(&mut guard).map_err(PullError::from)
    })
    .await
    .map_err(|e| PullError::Poisoned(e.to_string()))?
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
    let mut queue = pending.into_iter();
    let (mut done, mut bytes) = (0usize, 0u64);
    loop {
        // Fetch one chunk, a few objects at a time.
        let mut fetching = tokio::task::JoinSet::new();
        let (mut order, mut chunk_bytes) = (0usize, 0u64);
        let mut fetched: Vec<(usize, ListedObject, Vec<u8>)> = Vec::new();
        loop {
            while fetching.len() < FETCH_CONCURRENCY
                && order < chunk_objects.max(1)
                && chunk_bytes < CHUNK_BYTES
            {
                let Some(object) = queue.next() else { break };
                chunk_bytes += object.size;
                let lake = lake.clone();
                let index = order;
                order += 1;
                fetching.spawn(async move {
                    let bytes = lake.fetch(&object.key).await;
                    (index, object, bytes)
                });
            }
            let Some(joined) = fetching.join_next().await else {
                break;
            };
            let (index, object, bytes) = joined.map_err(|e| PullError::Poisoned(e.to_string()))?;
            fetched.push((index, object, bytes?));
        }
        if fetched.is_empty() {
            break;
        }
        fetched.sort_by_key(|f| f.0);
        let loaded_at_ms = now_ms();
        let chunk: Vec<(ListedObject, Vec<u8>)> = fetched
            .into_iter()
            .map(|(_, object, bytes)| (object, bytes))
            .collect();
        let (chunk, outcomes) = with_store(store, move |s| {
            let records: Vec<ObjectRecord<'_>> = chunk
                .iter()
                .map(|(object, _)| ObjectRecord {
                    key: &object.key,
                    tenant_id: tenant_of_key(&object.key),
                    uploaded_ms: object.uploaded_ms,
                    loaded_at_ms,
                })
                .collect();
            let blobs: Vec<&[u8]> = chunk.iter().map(|(_, b)| b.as_slice()).collect();
            let outcomes = s.load_objects(&records, &blobs)?;
            drop(records);
            drop(blobs);
            let chunk: Vec<ListedObject> = chunk.into_iter().map(|(object, _)| object).collect();
            Ok((chunk, outcomes))
        })
        .await?;
        for (object, outcome) in chunk.iter().zip(outcomes) {
            if !outcome.newly_loaded {
                continue;
            }
            report.objects_loaded += 1;
            report.events_loaded += outcome.inserted;
            report.duplicates_skipped += outcome.duplicates;
            let tenant = tenant_of_key(&object.key).unwrap_or("unknown").to_string();
            let entry = report.tenants.entry(tenant).or_default();
            entry.objects_loaded += 1;
            entry.events_loaded += outcome.inserted;
            entry.duplicates_skipped += outcome.duplicates;
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

/// Deletes events older than `retention_ms` (see [`Store::apply_retention`]); returns how many.
pub async fn expire_events(store: &SharedStore, retention_ms: i64) -> Result<u64, PullError> {
    let cutoff_ms = now_ms() - retention_ms;
    let expired = with_store(store, move |s| s.apply_retention(cutoff_ms)).await?;
    if expired > 0 {
        tracing::info!(events = expired, "retention: deleted expired events");
    }
    Ok(expired)
}

/// Wall-clock epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
