//! One pull: (optionally) make the edge flush, push revocations, list lake objects after the cursor
//! with a look-back, and load each object not loaded yet, each in its own transaction.

use crate::lake::{tenant_of_key, EdgeLake, FlushReport, LakeError};
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
    pub bad_lines: u64,
    pub tenants: BTreeMap<String, TenantPull>,
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

/// Pulls every new lake object into the store.
pub async fn pull_once(
    store: &SharedStore,
    lake: &EdgeLake,
    flush_first: bool,
    lookback_ms: i64,
) -> Result<PullReport, PullError> {
    let mut report = PullReport::default();
    if flush_first {
        report.flushed = Some(lake.flush().await?);
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
    let pending: Vec<_> = listed
        .into_iter()
        .filter(|o| !loaded.contains(&o.key))
        .collect();
    let pending_total = pending.len();
    if !pending.is_empty() {
        tracing::info!(objects = pending.len(), "loading new batch objects");
    }
    for (done, object) in pending.into_iter().enumerate() {
        let batch = lake.fetch(&object.key).await?;
        report.bad_lines += batch.bad_lines;
        let key = object.key.clone();
        let uploaded_ms = object.uploaded_ms;
        let outcome = with_store(store, move |s| {
            let record = ObjectRecord {
                key: &key,
                tenant_id: tenant_of_key(&key),
                uploaded_ms,
                loaded_at_ms: now_ms(),
            };
            s.load_batch(&record, &batch.events)
        })
        .await?;
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
        tracing::info!(
            object = %object.key,
            progress = format!("{}/{pending_total}", done + 1),
            bytes = object.size,
            events = outcome.inserted,
            duplicates = outcome.duplicates,
            "loaded batch object"
        );
    }
    Ok(report)
}

/// Pushes the key policy document to the edge. An unreachable edge is logged, not an error: the
/// 30-second sync and the next pull retry.
pub async fn push_key_policies(store: &SharedStore, lake: &EdgeLake) -> Result<bool, PullError> {
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
