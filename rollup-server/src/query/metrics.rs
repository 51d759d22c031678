//! Livepeer's view metrics per group, and views per content, from memory.

use super::time::*;
use super::views::{slot, TenantViews, NONE};
use super::ViewIndex;
use crate::query::params::{number, MetricsQuery};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};
use std::cmp::Ordering;

impl ViewIndex {
    /// The view metrics of [`crate::query::params::view_metrics`], computed from memory.
    pub fn view_metrics(&self, tenant_id: &str, query: &MetricsQuery) -> Vec<Map<String, Value>> {
        self.tenants
            .get(tenant_id)
            .map(|views| metrics(views, query))
            .unwrap_or_default()
    }
}

impl ViewIndex {
    /// Views started in `[from, to)` per content ([`Store::views_by_content`](crate::store::Store)),
    /// most viewed first.
    pub fn views_by_content(
        &self,
        tenant_id: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Vec<ContentViews> {
        let Some(views) = self.tenants.get(tenant_id) else {
            return Vec::new();
        };
        let lo = from_ms.map_or(0, |from| {
            views.rows.partition_point(|r| r.started_ms < from)
        });
        let hi = to_ms.map_or(views.rows.len(), |to| {
            views.rows.partition_point(|r| r.started_ms < to)
        });
        let mut counts: FxHashMap<u32, i64> = FxHashMap::default();
        for row in views.window(lo, hi, None) {
            if row.dims[0] != NONE {
                *counts.entry(row.dims[0]).or_default() += 1;
            }
        }
        let mut out: Vec<ContentViews> = counts
            .into_iter()
            .filter_map(|(id, views_count)| {
                Some(ContentViews {
                    content_id: views.value(id)?.to_string(),
                    views: views_count,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.views
                .cmp(&a.views)
                .then_with(|| a.content_id.cmp(&b.content_id))
        });
        out
    }
}

/// What one group adds up.
#[derive(Default)]
struct Group {
    count: i64,
    viewers: FxHashSet<u64>,
    watched_ms: i128,
    rebuffer_ms: i128,
    ttff_ms: Vec<i64>,
    fatal: i64,
    exits: i64,
}

fn metrics(views: &TenantViews, query: &MetricsQuery) -> Vec<Map<String, Value>> {
    // The window: rows are sorted by start.
    let lo = query.from_ms.map_or(0, |from| {
        views.rows.partition_point(|r| r.started_ms < from)
    });
    let hi = query.to_ms.map_or(views.rows.len(), |to| {
        views.rows.partition_point(|r| r.started_ms < to)
    });
    // Equality filters: a value no view has matches nothing.
    let content = query
        .content_id
        .as_ref()
        .map(|c| views.ids.get(c.as_str()).copied().unwrap_or(NONE));
    if content == Some(NONE) {
        return Vec::new();
    }
    let rows = views.window(lo, hi, content);
    let mut filters: Vec<(usize, u32)> = Vec::new();
    for (dimension, value) in &query.filters {
        filters.push((
            slot(*dimension),
            views.ids.get(value.as_str()).copied().unwrap_or(NONE),
        ));
    }
    if filters.iter().any(|(_, id)| *id == NONE) {
        return Vec::new();
    }
    let slots: Vec<usize> = query.breakdown.iter().map(|d| slot(*d)).collect();
    let step = query.time_step;
    let mut groups: FxHashMap<Box<[i64]>, Group> = FxHashMap::default();
    let mut key: Vec<i64> = Vec::with_capacity(slots.len() + 1);
    for row in rows {
        if filters.iter().any(|(s, id)| row.dims[*s] != *id) {
            continue;
        }
        key.clear();
        key.extend(slots.iter().map(|s| i64::from(row.dims[*s])));
        if let Some(step) = step {
            key.push(bucket(step, row.started_ms));
        }
        let group = match groups.get_mut(key.as_slice()) {
            Some(group) => group,
            None => groups.entry(key.clone().into_boxed_slice()).or_default(),
        };
        group.count += 1;
        if let Some(viewer) = row.viewer_key {
            group.viewers.insert(viewer);
        }
        group.watched_ms += i128::from(row.watched_ms);
        group.rebuffer_ms += i128::from(row.rebuffer_ms);
        if row.reached_first_frame {
            if let Some(ttff) = row.ttff_ms {
                group.ttff_ms.push(ttff);
            }
        }
        group.fatal += i64::from(row.fatal_error);
        group.exits += i64::from(!row.reached_first_frame && !row.fatal_error);
    }
    let mut groups: Vec<(Box<[i64]>, Group)> = groups.into_iter().collect();
    // ORDER BY the groups: dimension values as strings with missing ones last (DuckDB's default),
    // then the bucket.
    groups.sort_by(|(a, _), (b, _)| {
        for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            let order = if i < slots.len() {
                let value = |id: i64| views.value(id as u32);
                match (value(*x), value(*y)) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            } else {
                x.cmp(y)
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    });
    groups
        .into_iter()
        .map(|(key, mut group)| {
            let mut out = Map::new();
            for (i, dimension) in query.breakdown.iter().enumerate() {
                // Livepeer's fields are optional: an unknown value is left out, never null.
                if let Some(value) = views.value(key[i] as u32) {
                    out.insert(dimension.api_name().into(), Value::String(value.into()));
                }
            }
            if step.is_some() {
                out.insert("timestamp".into(), Value::from(key[slots.len()]));
            }
            let count = group.count;
            out.insert("viewCount".into(), Value::from(count));
            out.insert(
                "uniqueViewers".into(),
                Value::from(group.viewers.len() as i64),
            );
            out.insert(
                "playtimeMins".into(),
                number(group.watched_ms as f64 / 60000.0),
            );
            let p95 = quantile_cont(&mut group.ttff_ms, 0.95);
            let p50 = quantile_cont(&mut group.ttff_ms, 0.5);
            if let (Some(p50), Some(p95)) = (p50, p95) {
                out.insert("ttffMs".into(), number(p50));
                out.insert("ttffP95Ms".into(), number(p95));
            }
            let played = group.watched_ms + group.rebuffer_ms;
            let rebuffer_ratio = if played == 0 {
                0.0
            } else {
                group.rebuffer_ms as f64 / played as f64
            };
            out.insert("rebufferRatio".into(), number(rebuffer_ratio));
            out.insert(
                "errorRate".into(),
                number(group.fatal as f64 / count as f64),
            );
            out.insert(
                "exitsBeforeStart".into(),
                number(group.exits as f64 / count as f64),
            );
            out
        })
        .collect()
}

/// DuckDB's `quantile_cont`: the value at position (n - 1) * q of the sorted values, interpolated
/// linearly between its neighbours as `lo * (1 - d) + hi * d` (DuckDB's arithmetic, to the last bit).
/// Selects rather than sorts (linear time); reorders `values`.
fn quantile_cont(values: &mut [i64], q: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    let position = last as f64 * q;
    let below = position.floor();
    let above = position.ceil();
    let at = below as usize;
    let (_, lo, higher) = values.select_nth_unstable(at.min(last));
    let lo = *lo as f64;
    if below == above {
        return Some(lo);
    }
    // The next value in order is the least of those above.
    let hi = *higher.iter().min()? as f64;
    let d = position - below;
    Some(lo * (1.0 - d) + hi * d)
}

/// Views per content id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentViews {
    pub content_id: String,
    pub views: i64,
}
