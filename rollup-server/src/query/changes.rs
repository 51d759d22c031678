//! What a pull changed, handed from the store's write to the index: the new state of every view id
//! the pull touched and the new viewer of views an identify link moved, so the index follows a pull
//! without reading the tenant back from DuckDB.
//!
//! A view id's segments are replaced whole (a pull may merge, split or extend them). A tenant whose
//! pull changed more than [`MAX_CHANGED_VIEWS`] views is read again from the store instead: holding a
//! large backlog's views twice (here and in the store's write) would cost more memory than one scan
//! of the tenant costs time.

use super::params::Dimension;
use super::views::{slot, text_key, TenantViews, View, ViewRecord, ViewRow};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{HashMap, HashSet};

/// Above this many changed views in one pull a tenant is read again from the store.
pub const MAX_CHANGED_VIEWS: usize = 20_000;

/// One view as a pull hands it over: a [`ViewRecord`] that owns its strings.
pub type OwnedView = View<Box<str>, Vec<(f64, f64)>>;

impl OwnedView {
    /// A record's own copy.
    pub fn of(record: &ViewRecord<'_>) -> OwnedView {
        record.map(|&t| Box::from(t), |r| r.to_vec())
    }

    /// It as a record.
    pub fn record(&self) -> ViewRecord<'_> {
        self.map(|t| &**t, |r| r.as_slice())
    }
}

/// What pulls changed in one tenant's views, in the order they committed.
#[derive(Debug, Default)]
pub struct TenantChanges {
    /// View ids (by [`text_key`]) whose segments are all replaced, with their counted segments
    /// (none for one that is no view).
    added: FxHashMap<u64, Vec<OwnedView>>,
    /// New viewers (ids) of segments of view ids not replaced.
    viewers: FxHashMap<(u64, i32), Box<str>>,
    /// How many views `added` holds.
    views: usize,
}

impl TenantChanges {
    /// The view id `view_id` is now `segments` (its counted segments; none if it is no view).
    pub fn replace(&mut self, view_id: &str, segments: Vec<OwnedView>) {
        self.replace_key(text_key(view_id), segments);
    }

    /// Segment `segment` of view id `view_id` has a new viewer.
    pub fn set_viewer(&mut self, view_id: &str, segment: i32, viewer: &str) {
        self.set_viewer_of(text_key(view_id), segment, viewer.into());
    }

    fn replace_key(&mut self, view: u64, segments: Vec<OwnedView>) {
        self.views += segments.len();
        if let Some(before) = self.added.insert(view, segments) {
            self.views -= before.len();
        }
    }

    fn set_viewer_of(&mut self, view: u64, segment: i32, viewer: Box<str>) {
        match self.added.get_mut(&view) {
            Some(segments) => {
                for s in segments.iter_mut().filter(|s| s.segment == segment) {
                    s.viewer_key = Some(text_key(&viewer));
                    s.dims[slot(Dimension::ViewerId)] = Some(viewer.clone());
                }
            }
            None => {
                self.viewers.insert((view, segment), viewer);
            }
        }
    }

    /// How many views it adds.
    pub fn views(&self) -> usize {
        self.views
    }
}

/// What pulls changed, per tenant, since the index last took it (nothing is recorded until the
/// index follows: `rollup-server ingest` has none).
#[derive(Debug, Default)]
pub struct ViewChanges {
    following: bool,
    tenants: HashMap<String, TenantChanges>,
    /// Tenants to read again from the store: their changes grew past [`MAX_CHANGED_VIEWS`], or a
    /// load of theirs failed after recording some.
    reread: HashSet<String>,
}

impl ViewChanges {
    /// From now on changes are recorded.
    pub fn follow(&mut self) {
        self.following = true;
    }

    /// The changes so far; recording goes on afresh.
    pub fn take(&mut self) -> ViewChanges {
        let following = self.following;
        std::mem::replace(
            self,
            ViewChanges {
                following,
                ..ViewChanges::default()
            },
        )
    }

    /// The changes of `tenant`, if they are recorded and `more` views fit in
    /// [`MAX_CHANGED_VIEWS`]; past that the tenant is read again instead.
    pub fn tenant_with_room(&mut self, tenant: &str, more: usize) -> Option<&mut TenantChanges> {
        if !self.following || self.reread.contains(tenant) {
            return None;
        }
        let recorded = self.tenants.get(tenant).map_or(0, |c| c.views);
        if recorded + more > MAX_CHANGED_VIEWS {
            self.reread(tenant);
            return None;
        }
        Some(self.tenants.entry(tenant.to_string()).or_default())
    }

    /// Gives up the changes of `tenant`: it is read again.
    pub fn reread(&mut self, tenant: &str) {
        if self.following {
            self.tenants.remove(tenant);
            self.reread.insert(tenant.to_string());
        }
    }

    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.reread.is_empty()
            && self
                .tenants
                .values()
                .all(|c| c.added.is_empty() && c.viewers.is_empty())
    }

    /// The tenants to read again from the store, and the changes of the others.
    pub fn split(self) -> (Vec<String>, HashMap<String, TenantChanges>) {
        let mut reread: Vec<String> = self.reread.into_iter().collect();
        reread.sort();
        (reread, self.tenants)
    }
}

impl TenantViews {
    /// These views with `changes` applied (`None`: a tenant without views until now).
    pub fn updated(old: Option<&TenantViews>, changes: TenantChanges) -> TenantViews {
        let empty = TenantViews::default();
        let old = old.unwrap_or(&empty);
        let mut new = old.dictionary_only();
        let replaced: FxHashSet<u64> = changes.added.keys().copied().collect();
        let mut added: Vec<OwnedView> = changes.added.into_values().flatten().collect();
        added.sort_by_key(|v| v.started_ms);
        let mut added = added.into_iter().peekable();
        new.rows.reserve(old.rows.len() + added.len());
        for row in &old.rows {
            if replaced.contains(&row.view) {
                continue;
            }
            while let Some(view) = added.next_if(|v| v.started_ms < row.started_ms) {
                new.push(&view.record());
            }
            let viewer = changes.viewers.get(&(row.view, row.segment));
            new.push_kept(old, row, viewer.map(|v| &**v));
        }
        for view in added {
            new.push(&view.record());
        }
        new
    }

    /// These views without those started before `cutoff_ms` (what retention deletes).
    pub fn since(&self, cutoff_ms: i64) -> TenantViews {
        let mut new = self.dictionary_only();
        let from = self.rows.partition_point(|r| r.started_ms < cutoff_ms);
        for row in &self.rows[from..] {
            new.push_kept(self, row, None);
        }
        new
    }

    /// No views, with this one's dictionary (rows copied from here keep their ids).
    fn dictionary_only(&self) -> TenantViews {
        TenantViews {
            values: self.values.clone(),
            ids: self.ids.clone(),
            ..TenantViews::default()
        }
    }

    /// Whether a view started before `cutoff_ms`.
    pub fn has_views_before(&self, cutoff_ms: i64) -> bool {
        self.rows.first().is_some_and(|r| r.started_ms < cutoff_ms)
    }

    /// Adds a row of `from` (whose dictionary this one extends), with a new viewer if given.
    fn push_kept(&mut self, from: &TenantViews, row: &ViewRow, viewer: Option<&str>) {
        let mut row = *row;
        if let Some(viewer) = viewer {
            row.viewer_key = Some(text_key(viewer));
            row.dims[slot(Dimension::ViewerId)] = self.intern(viewer);
        }
        let ranges = &from.ranges[row.ranges_from as usize..][..row.ranges_len as usize];
        row.ranges_from = self.ranges.len() as u32;
        self.ranges.extend_from_slice(ranges);
        let props = &from.props[row.props_from as usize..][..row.props_len as usize];
        row.props_from = self.props.len() as u32;
        self.props.extend_from_slice(props);
        self.push_row(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_past_the_bound_is_read_again_and_nothing_is_recorded_unless_followed() {
        let mut changes = ViewChanges::default();
        assert!(changes.tenant_with_room("acme", 1).is_none());
        changes.reread("acme");
        assert!(changes.is_empty(), "nothing is recorded before follow");

        changes.follow();
        let acme = changes.tenant_with_room("acme", 1).expect("room");
        acme.replace("v1", Vec::new());
        assert!(changes
            .tenant_with_room("globex", MAX_CHANGED_VIEWS)
            .is_some());
        assert!(changes
            .tenant_with_room("globex", MAX_CHANGED_VIEWS + 1)
            .is_none());
        // Once read again, always read again in this pull.
        assert!(changes.tenant_with_room("globex", 0).is_none());
        let taken = changes.take();
        let (reread, changed) = taken.split();
        assert_eq!(reread, ["globex"]);
        assert_eq!(changed.keys().collect::<Vec<_>>(), ["acme"]);
        // Recording goes on after a take.
        assert!(changes.is_empty());
        assert!(changes.tenant_with_room("globex", 1).is_some());
    }
}
