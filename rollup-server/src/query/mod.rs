//! The views of every tenant held in memory, so that the view metrics and mave's plays, sources and
//! engagement that dashboards poll are computed in about a millisecond instead of a DuckDB query's
//! 10-40 ms (distinct viewers and TTFF percentiles per group are most of a query's cost there), and
//! without waiting for a pull that holds the store.
//!
//! The `views` table stays the truth: the index is read from it at start; after each pull the
//! store's write hands over the new state of the views each committed load changed ([`changes`]),
//! retention's cutoff drops the views it deleted, and a tenant is read again only when a pull
//! changed too many of its views. Each tenant has its own string dictionary, rows sorted by start
//! time (a time window is two binary searches) and the positions of each content's views; a
//! tenant's index never holds another tenant's strings. A dictionary only grows while the server
//! runs (a view's replaced strings stay in it until the next start).
//!
//! This is the one definition of every metric (docs/api.md says each in words). Tests check it
//! against lake-gen's independently computed answers, hand-worked cases ([`definitions`]) and, on
//! generated views for every dimension, time step, filter, interval and timeframe, against SQL
//! written separately in the tests (`oracle`).
//!
//! Files: [`views`] (one tenant's views and its string dictionary), [`changes`] (what a pull
//! changed), [`metrics`] (Livepeer's view
//! metrics, views per content), [`concurrency`], [`mave`] (plays, sources, engagement).

mod changes;
mod concurrency;
#[cfg(test)]
pub(crate) mod definitions;
mod mave;
mod metrics;
pub mod mux;
#[cfg(test)]
mod oracle;
pub mod params;
#[cfg(test)]
mod tests;
mod time;
pub mod views;

pub use changes::{OwnedView, TenantChanges, ViewChanges, MAX_CHANGED_VIEWS};
pub use concurrency::MAX_CONCURRENCY_BUCKETS;
pub use metrics::ContentViews;
pub use views::TenantViews;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, RwLock};

/// Every tenant's views at one moment.
#[derive(Debug, Default)]
pub struct ViewIndex {
    tenants: HashMap<String, Arc<TenantViews>>,
}

impl ViewIndex {
    /// An index of what [`read_views`] read.
    pub fn new(tenants: HashMap<String, TenantViews>) -> ViewIndex {
        ViewIndex {
            tenants: tenants.into_iter().map(|(t, v)| (t, Arc::new(v))).collect(),
        }
    }

    /// This index with `tenants` read again (a tenant absent from `fresh` has no views any more).
    pub fn with_tenants(
        &self,
        read: &[String],
        mut fresh: HashMap<String, TenantViews>,
    ) -> ViewIndex {
        let mut tenants = self.tenants.clone();
        for tenant in read {
            match fresh.remove(tenant) {
                Some(views) => tenants.insert(tenant.clone(), Arc::new(views)),
                None => tenants.remove(tenant),
            };
        }
        ViewIndex { tenants }
    }

    /// This index with tenants read again (`reread`, as [`ViewIndex::with_tenants`]) and pulls'
    /// `changes` applied to the others.
    pub fn updated(
        &self,
        reread: &[String],
        fresh: HashMap<String, TenantViews>,
        changes: HashMap<String, TenantChanges>,
    ) -> ViewIndex {
        let mut index = self.with_tenants(reread, fresh);
        for (tenant, changes) in changes {
            let views = TenantViews::updated(index.tenants.get(&tenant).map(|v| &**v), changes);
            if views.is_empty() {
                index.tenants.remove(&tenant);
            } else {
                index.tenants.insert(tenant, Arc::new(views));
            }
        }
        index
    }

    /// Whether a view of any tenant started before `cutoff_ms`.
    pub fn has_views_before(&self, cutoff_ms: i64) -> bool {
        self.tenants.values().any(|v| v.has_views_before(cutoff_ms))
    }

    /// This index without the views started before `cutoff_ms` (what retention deletes).
    pub fn since(mut self, cutoff_ms: i64) -> ViewIndex {
        for views in self.tenants.values_mut() {
            if views.has_views_before(cutoff_ms) {
                *views = Arc::new(views.since(cutoff_ms));
            }
        }
        self.tenants.retain(|_, v| !v.is_empty());
        self
    }

    /// One tenant's views.
    #[cfg(test)]
    pub(crate) fn tenant(&self, tenant: &str) -> Option<&TenantViews> {
        self.tenants.get(tenant).map(|v| &**v)
    }

    /// Every tenant, sorted.
    #[cfg(test)]
    pub(crate) fn tenant_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tenants.keys().cloned().collect();
        names.sort();
        names
    }

    /// How many views, over every tenant.
    pub fn view_count(&self) -> usize {
        self.tenants.values().map(|v| v.len()).sum()
    }
}

/// The index the query API reads, replaced whole after each pull that changed data; each
/// replacement is a new generation (answers cached from an older one are stale).
#[derive(Debug, Default)]
pub struct SharedViewIndex {
    index: RwLock<Arc<ViewIndex>>,
    generation: AtomicU64,
}

impl SharedViewIndex {
    /// The index now (queries keep it for their run; a pull meanwhile builds the next one).
    pub fn current(&self) -> Arc<ViewIndex> {
        match self.index.read() {
            Ok(index) => index.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the index.
    pub fn replace(&self, index: ViewIndex) {
        let index = Arc::new(index);
        let mut current = match self.index.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        *current = index;
        // Moved on while the new index is in place and before readers can see it.
        self.generation.fetch_add(1, AtomicOrdering::SeqCst);
    }

    /// How many times the index was replaced. Read it before [`SharedViewIndex::current`]: an answer
    /// computed from that index is of this generation's data or newer.
    pub fn generation(&self) -> u64 {
        self.generation.load(AtomicOrdering::SeqCst)
    }
}
