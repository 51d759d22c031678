//! The pipeline: a pull takes new objects from the [source](crate::source), [decodes](crate::decode)
//! and [folds](crate::fold) them, writes them to the [store](crate::store) chunk by chunk
//! ([`pull`]), and swaps the tenants it changed into the in-memory [views](crate::query) that the
//! API reads. Pulls run on a schedule and on demand ([`on_demand`]), one at a time; a pull that
//! failed half-way reads every tenant again.

pub mod on_demand;
pub mod pull;

use crate::query::{SharedViewIndex, ViewChanges, ViewIndex};
use crate::source::Lake;
use crate::telemetry::Telemetry;
use on_demand::OnDemand;
use pull::{PullError, PullOptions, PullReport, SharedStore};
use std::sync::Arc;
use std::time::Duration;

/// How pulls run and what they keep.
#[derive(Debug, Clone, Copy)]
pub struct PullSettings {
    /// How far before the newest loaded object to look for late objects.
    pub lookback_ms: i64,
    /// Most objects loaded in one transaction.
    pub chunk_objects: usize,
    /// Events older than this are deleted after each pull.
    pub retention_ms: i64,
}

/// The store, where it pulls from, and the views the API reads, kept in step.
pub struct Pipeline {
    pub store: SharedStore,
    pub lake: Lake,
    /// The views in memory (replaced whole after each pull that changed data).
    pub views: SharedViewIndex,
    /// `POST /admin/ingest`'s per-tenant allowance and coalescing.
    pub on_demand: OnDemand,
    settings: PullSettings,
    telemetry: Arc<Telemetry>,
    /// One pull at a time (the scheduler and on-demand pulls).
    pull_lock: tokio::sync::Mutex<()>,
}

impl Pipeline {
    /// A pipeline over `store` and `lake`; its views are empty until [`Pipeline::read_all_views`].
    pub fn new(
        store: SharedStore,
        lake: Lake,
        settings: PullSettings,
        telemetry: Arc<Telemetry>,
    ) -> Pipeline {
        Pipeline {
            store,
            lake,
            views: SharedViewIndex::default(),
            on_demand: OnDemand::default(),
            settings,
            telemetry,
            pull_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads every tenant's views from the store into memory (at start).
    pub async fn read_all_views(&self) -> Result<(), PullError> {
        self.refresh_views().await
    }

    /// Runs one scheduled pull.
    pub async fn scheduled_pull(&self) -> Result<PullReport, PullError> {
        let _one_pull_at_a_time = self.pull_lock.lock().await;
        self.pull(false).await
    }

    /// Makes the edge flush and pulls, for a caller holding on-demand `ticket`
    /// ([`OnDemand::arrive`]): callers that arrived while another flush-and-pull ran share the next.
    pub async fn pull_on_demand(&self, ticket: u64) -> Result<Arc<PullReport>, PullError> {
        let _one_pull_at_a_time = self.pull_lock.lock().await;
        if let Some(report) = self.on_demand.served(ticket) {
            return Ok(report);
        }
        let number = self.on_demand.start();
        let report = self.pull(true).await?;
        Ok(self.on_demand.finished(number, report))
    }

    /// Runs one pull (the caller holds `pull_lock`), applies to the index what it changed, and
    /// records it for `/metrics`.
    async fn pull(&self, flush_first: bool) -> Result<PullReport, PullError> {
        let options = PullOptions {
            flush_first,
            lookback_ms: self.settings.lookback_ms,
            chunk_objects: self.settings.chunk_objects,
        };
        let pulled = pull::pull_once(&self.store, &self.lake, options).await;
        let cutoff_ms = match &pulled {
            Ok(_) => Some(pull::expire_events(&self.store, self.settings.retention_ms).await),
            Err(_) => None,
        };
        // What committed: a pull commits chunk by chunk, so one that failed half-way may have
        // changed views too.
        let followed = match pull::with_store(&self.store, |s| Ok(s.take_view_changes())).await {
            Ok(changes) => {
                let cutoff_ms = cutoff_ms.as_ref().and_then(|c| c.as_ref().ok().copied());
                self.follow_changes(changes, cutoff_ms).await
            }
            Err(e) => Err(e),
        };
        // Changes not followed (a tenant's read failed, say) are gone: every view is read again.
        let current = match followed {
            Ok(()) => Ok(()),
            Err(follow) => {
                tracing::error!(error = %follow, "views not updated after a pull; reading them all again");
                self.refresh_views().await
            }
        };
        let report = match pulled {
            Ok(report) => report,
            Err(e) => {
                self.telemetry.pull_failed();
                if let Err(read) = current {
                    tracing::error!(error = %read, "views not read again after a failed pull");
                }
                return Err(e);
            }
        };
        if let Some(expired) = cutoff_ms {
            expired?;
        }
        current?;
        let newest = pull::with_store(&self.store, |s| s.newest_loaded_upload_ms()).await?;
        self.telemetry
            .pulled(&report, crate::clock::now_ms(), newest);
        Ok(report)
    }

    /// Reads every tenant's views from the store into a new index, which follows the store's changes
    /// from then on.
    async fn refresh_views(&self) -> Result<(), PullError> {
        let started = std::time::Instant::now();
        let read = pull::with_store(&self.store, |s| {
            s.follow_views();
            let _ = s.take_view_changes();
            s.read_views(None)
        })
        .await?;
        let index = ViewIndex::new(read);
        tracing::info!(
            views = index.view_count(),
            seconds = started.elapsed().as_secs_f64(),
            "views read into memory"
        );
        self.views.replace(index);
        Ok(())
    }

    /// Applies what pulls changed to the index: tenants whose pull changed too many views are read
    /// again from the store, the others take the pull's own new view state; views started before
    /// `cutoff_ms` (deleted by retention) go.
    async fn follow_changes(
        &self,
        changes: ViewChanges,
        cutoff_ms: Option<i64>,
    ) -> Result<(), PullError> {
        let current = self.views.current();
        let expiring = cutoff_ms.filter(|&c| current.has_views_before(c));
        if changes.is_empty() && expiring.is_none() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let (reread, changed) = changes.split();
        let mut fresh = std::collections::HashMap::new();
        for tenant in &reread {
            let t = tenant.clone();
            let mut one = pull::with_store(&self.store, move |s| s.read_views(Some(&t))).await?;
            if let Some(views) = one.remove(tenant) {
                fresh.insert(tenant.clone(), views);
            }
        }
        let followed = changed.len();
        let index = tokio::task::spawn_blocking(move || {
            let index = current.updated(&reread, fresh, changed);
            match expiring {
                Some(cutoff_ms) => index.since(cutoff_ms),
                None => index,
            }
        })
        .await
        .map_err(|e| PullError::TaskFailed(format!("index update: {e}")))?;
        tracing::info!(
            views = index.view_count(),
            tenants_followed = followed,
            seconds = started.elapsed().as_secs_f64(),
            "views updated in memory"
        );
        self.views.replace(index);
        Ok(())
    }

    /// Pulls new batches every `interval` (the first one right away).
    pub fn spawn_schedule(self: &Arc<Self>, interval: Duration) {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                match pipeline.scheduled_pull().await {
                    Ok(report) => tracing::info!(
                        objects = report.objects_loaded,
                        events = report.events_loaded,
                        duplicates = report.duplicates_skipped,
                        "scheduled pull done"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "scheduled pull failed; retrying at the next tick")
                    }
                }
            }
        });
    }

    /// Pushes key policies (revocations, origins, rate limits) to the edge every 30 s, so a change
    /// whose immediate push failed still takes effect within 60 s.
    pub fn spawn_key_policy_sync(self: &Arc<Self>) {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(30));
            loop {
                ticker.tick().await;
                if let Err(e) = pull::push_key_policies(&pipeline.store, &pipeline.lake).await {
                    tracing::warn!(error = %e, "could not read key policies");
                }
            }
        });
    }
}
