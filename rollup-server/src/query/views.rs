//! One tenant's views in memory: a row of numbers and dictionary ids per view, sorted by start.

use crate::query::params::Dimension;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::collections::HashMap;

/// A missing dimension value (SQL NULL).
pub(super) const NONE: u32 = u32::MAX;
/// How many dimensions a view has.
pub const DIMENSIONS: usize = Dimension::ALL.len();

/// Where a dimension's value id sits in [`ViewRow::dims`]: its place in [`Dimension::ALL`].
pub(super) fn slot(dimension: Dimension) -> usize {
    dimension as usize
}

/// One view: the columns the view metrics read.
#[derive(Debug, Clone, Copy)]
pub(super) struct ViewRow {
    /// Which view id ([`text_key`] of it) and which of its segments: what a pull's changes replace.
    pub(super) view: u64,
    pub(super) segment: i32,
    pub(super) started_ms: i64,
    pub(super) viewer_key: Option<u64>,
    pub(super) ttff_ms: Option<i64>,
    pub(super) watched_ms: i64,
    pub(super) rebuffer_ms: i64,
    pub(super) fatal_error: bool,
    pub(super) reached_first_frame: bool,
    pub(super) qoe: Qoe,
    pub(super) dims: [u32; DIMENSIONS],
    pub(super) duration_s: Option<f64>,
    /// When its last event happened (the end of its span for concurrency).
    pub(super) last_ms: i64,
    /// Who is watching, for concurrency (see [`ViewRecord::who`]).
    pub(super) who: u64,
    /// The view's played ranges: `TenantViews::ranges[ranges_from..ranges_from + ranges_len]`.
    pub(super) ranges_from: u32,
    pub(super) ranges_len: u32,
    /// Its custom props that queries can match: `TenantViews::props[props_from..props_from + props_len]`.
    pub(super) props_from: u32,
    pub(super) props_len: u32,
}

/// The quality-of-experience figures of a view beyond the ones every API reads, for Mux's metrics
/// (`query/mux.rs`). Each field is the `view_segments` column of the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Qoe {
    /// Stalls while playing (`rebuffer_start` events).
    pub rebuffer_count: i64,
    /// It ended cleanly (an `ended` or `view_end` event).
    pub ended: bool,
    /// A fatal error that is no business exception.
    pub playback_failure: bool,
    /// A fatal error flagged as a business exception.
    pub business_exception: bool,
    /// Seeks that reported their time, and that time summed (ms).
    pub seek_count: i64,
    pub seek_ms: i64,
}

/// One tenant's views and the strings they use.
#[derive(Debug, Default)]
pub struct TenantViews {
    pub(super) values: Vec<Box<str>>,
    pub(super) ids: HashMap<Box<str>, u32, FxBuildHasher>,
    /// Sorted by `started_ms`.
    pub(super) rows: Vec<ViewRow>,
    /// Played media ranges (seconds from, to) of every view, merged where they touch.
    pub(super) ranges: Vec<(f64, f64)>,
    /// The positions in `rows` of each content's views, ascending (queries of one content read only
    /// those).
    pub(super) by_content: FxHashMap<u32, Vec<u32>>,
    /// Custom props of every view as (key, value) dictionary ids, sorted per view.
    pub(super) props: Vec<(u32, u32)>,
    /// The longest a view lasted (`last_ms - started_ms`): views that ended in a window started
    /// at most this long before it.
    pub(super) longest_ms: i64,
}

/// The key the index gives a text (a view id, a viewer, a session): equal texts, equal keys.
pub fn text_key(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// A view's [`View::view`] and [`View::who`]: the keys of its view id and of who watches (its
/// session, else the view itself).
pub fn view_keys(view_id: &str, session_id: Option<&str>) -> (u64, u64) {
    (text_key(view_id), text_key(session_id.unwrap_or(view_id)))
}

/// One view as the store hands it over: its numbers, its dimension values (`S`: text) in
/// [`Dimension::ALL`]'s order, and its played ranges (`R`: seconds from, to; merged where they
/// touch). [`ViewRecord`] borrows them, [`crate::query::OwnedView`] owns them.
#[derive(Debug, Clone, PartialEq)]
pub struct View<S, R> {
    /// [`text_key`] of its view id, and which segment of that view id it is.
    pub view: u64,
    pub segment: i32,
    pub started_ms: i64,
    /// [`text_key`] of its viewer id.
    pub viewer_key: Option<u64>,
    pub ttff_ms: Option<i64>,
    pub watched_ms: i64,
    pub rebuffer_ms: i64,
    pub fatal_error: bool,
    pub reached_first_frame: bool,
    pub qoe: Qoe,
    pub dims: [Option<S>; DIMENSIONS],
    pub duration_s: Option<f64>,
    pub last_ms: i64,
    /// Who is watching, for concurrency: [`text_key`] of the session id (the view id without one).
    pub who: u64,
    pub ranges: R,
    /// The custom props of its first event, as JSON text.
    pub props: Option<S>,
}

/// A view that borrows its strings and ranges.
pub type ViewRecord<'a> = View<&'a str, &'a [(f64, f64)]>;

impl<S, R> View<S, R> {
    /// The same view with its texts and ranges converted.
    pub fn map<'a, T, Q>(
        &'a self,
        text: impl Fn(&'a S) -> T,
        ranges: impl Fn(&'a R) -> Q,
    ) -> View<T, Q> {
        View {
            view: self.view,
            segment: self.segment,
            started_ms: self.started_ms,
            viewer_key: self.viewer_key,
            ttff_ms: self.ttff_ms,
            watched_ms: self.watched_ms,
            rebuffer_ms: self.rebuffer_ms,
            fatal_error: self.fatal_error,
            reached_first_frame: self.reached_first_frame,
            qoe: self.qoe,
            dims: std::array::from_fn(|i| self.dims[i].as_ref().map(&text)),
            duration_s: self.duration_s,
            last_ms: self.last_ms,
            who: self.who,
            ranges: ranges(&self.ranges),
            props: self.props.as_ref().map(&text),
        }
    }
}

impl TenantViews {
    /// Adds one view; views come in order of `started_ms`.
    pub fn push(&mut self, view: &ViewRecord<'_>) {
        debug_assert!(self
            .rows
            .last()
            .is_none_or(|last| last.started_ms <= view.started_ms));
        let mut dims = [NONE; DIMENSIONS];
        for (id, value) in dims.iter_mut().zip(view.dims) {
            if let Some(value) = value {
                *id = self.intern(value);
            }
        }
        let ranges_from = self.ranges.len() as u32;
        self.ranges.extend_from_slice(view.ranges);
        let props_from = self.props.len() as u32;
        if let Some(text) = view.props {
            for (key, value) in matchable_props(text) {
                let pair = (self.intern(&key), self.intern(&value));
                self.props.push(pair);
            }
            self.props[props_from as usize..].sort_unstable();
        }
        self.push_row(ViewRow {
            view: view.view,
            segment: view.segment,
            started_ms: view.started_ms,
            viewer_key: view.viewer_key,
            ttff_ms: view.ttff_ms,
            watched_ms: view.watched_ms,
            rebuffer_ms: view.rebuffer_ms,
            fatal_error: view.fatal_error,
            reached_first_frame: view.reached_first_frame,
            qoe: view.qoe,
            dims,
            duration_s: view.duration_s,
            last_ms: view.last_ms,
            who: view.who,
            ranges_from,
            ranges_len: view.ranges.len() as u32,
            props_from,
            props_len: self.props.len() as u32 - props_from,
        });
    }

    /// Appends a row whose ranges and props are in place, and indexes it by content.
    pub(super) fn push_row(&mut self, row: ViewRow) {
        let content = row.dims[slot(Dimension::ContentId)];
        if content != NONE {
            let position = self.rows.len() as u32;
            self.by_content.entry(content).or_default().push(position);
        }
        self.longest_ms = self.longest_ms.max(row.last_ms - row.started_ms);
        self.rows.push(row);
    }

    pub(super) fn intern(&mut self, value: &str) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.into());
        self.ids.insert(value.into(), id);
        id
    }

    /// How many views.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No views.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(super) fn value(&self, id: u32) -> Option<&str> {
        self.values.get(id as usize).map(|v| &**v)
    }
}

impl TenantViews {
    /// Every view as text with its strings resolved, sorted: equal for indexes that hold the same
    /// views whatever their dictionary ids and the order of views that start together.
    #[cfg(test)]
    pub(crate) fn described(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                let dims: Vec<Option<&str>> = row.dims.iter().map(|&d| self.value(d)).collect();
                let ranges = &self.ranges[row.ranges_from as usize..][..row.ranges_len as usize];
                let props: Vec<(Option<&str>, Option<&str>)> = self.props
                    [row.props_from as usize..][..row.props_len as usize]
                    .iter()
                    .map(|&(k, v)| (self.value(k), self.value(v)))
                    .collect();
                format!(
                    "{:x}/{} {} {:?} {:?} {} {} {} {} {:?} {:?} {:?} {} {:x} {:?} {:?}",
                    row.view,
                    row.segment,
                    row.started_ms,
                    row.viewer_key,
                    row.ttff_ms,
                    row.watched_ms,
                    row.rebuffer_ms,
                    row.fatal_error,
                    row.reached_first_frame,
                    row.qoe,
                    dims,
                    row.duration_s,
                    row.last_ms,
                    row.who,
                    ranges,
                    props
                )
            })
            .collect();
        out.sort();
        let mut by_content: Vec<String> = self
            .by_content
            .iter()
            .map(|(content, positions)| {
                let starts: Vec<i64> = positions
                    .iter()
                    .map(|&p| self.rows[p as usize].started_ms)
                    .collect();
                format!("content {:?}: {starts:?}", self.value(*content))
            })
            .collect();
        by_content.sort();
        out.extend(by_content);
        out
    }

    /// The views started in `[lo, hi)` (positions in `rows`), of one content when `content` is given.
    pub(super) fn window<'a>(
        &'a self,
        lo: usize,
        hi: usize,
        content: Option<u32>,
    ) -> Box<dyn Iterator<Item = &'a ViewRow> + 'a> {
        let hi = hi.max(lo);
        match content {
            None => Box::new(self.rows.get(lo..hi).unwrap_or_default().iter()),
            Some(content) => {
                let positions = self
                    .by_content
                    .get(&content)
                    .map_or(&[][..], |p| p.as_slice());
                let from = positions.partition_point(|p| (*p as usize) < lo);
                let to = positions.partition_point(|p| (*p as usize) < hi);
                Box::new(
                    positions
                        .get(from..to.max(from))
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|p| self.rows.get(*p as usize)),
                )
            }
        }
    }
}

impl TenantViews {
    /// The dictionary ids of `pairs` (custom prop keys and values), or `None` if one was never seen:
    /// then no view matches.
    pub(super) fn prop_ids(&self, pairs: &[(String, String)]) -> Option<Vec<(u32, u32)>> {
        pairs
            .iter()
            .map(|(key, value)| {
                Some((*self.ids.get(key.as_str())?, *self.ids.get(value.as_str())?))
            })
            .collect()
    }

    /// Whether `row` carries every one of `pairs` (dictionary ids).
    pub(super) fn has_props(&self, row: &ViewRow, pairs: &[(u32, u32)]) -> bool {
        let from = row.props_from as usize;
        let mine = self
            .props
            .get(from..from + row.props_len as usize)
            .unwrap_or_default();
        pairs.iter().all(|pair| mine.binary_search(pair).is_ok())
    }
}

/// The props of a props object that a mave `query` can match, each as the text it is matched by:
/// a string as itself, anything else but null as its JSON (as DuckDB's `json_extract_string` gives
/// it for the edge's JSON, whose object keys are sorted). Null matches nothing; text that is not a
/// JSON object has no props.
fn matchable_props(text: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::String(s) => Some((key, s)),
            serde_json::Value::Null => None,
            other => Some((key, other.to_string())),
        })
        .collect()
}
