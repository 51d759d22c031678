//! The views of every tenant held in memory, so that the view metrics and mave's plays, sources and
//! engagement that dashboards poll are computed in about a millisecond instead of a DuckDB query's
//! 10-40 ms (distinct viewers and TTFF percentiles per group are most of a query's cost there), and
//! without waiting for a pull that holds the store.
//!
//! The `views` table stays the truth: the index is read from it at start and, after each pull that
//! changed data, again for the tenants that pull touched (all of them after a retention delete or a
//! failed pull that committed chunks). Each tenant has its own string dictionary, rows sorted by start
//! time (a time window is two binary searches) and the positions of each content's views; a tenant's
//! index never holds another tenant's strings.
//!
//! Every answer here equals what the SQL of [`crate::query::params`] and [`crate::query::params`] computes (the SQL is
//! the definition): tests compare the two on generated views for every dimension, time step, filter,
//! interval and timeframe.
//!
//! Files: [`views`] (one tenant's views and its string dictionary), [`metrics`] (Livepeer's view
//! metrics, views per content), [`concurrency`], [`mave`] (plays, sources, engagement).

mod concurrency;
#[cfg(test)]
pub(crate) mod definitions;
mod mave;
mod metrics;
#[cfg(test)]
mod oracle;
pub mod params;
#[cfg(test)]
mod tests;
mod time;
pub mod views;

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
