//! Peak concurrency per time bucket, from memory.

use super::time::*;
use super::views::{slot, TenantViews, NONE};
use super::ViewIndex;
use crate::query::params::{MetricsQuery, TimeStep};
use serde_json::{Map, Value};

/// Most buckets one concurrency answer has (an hourly answer over five years).
pub const MAX_CONCURRENCY_BUCKETS: usize = 50_000;

impl ViewIndex {
    /// Peak concurrency per bucket ([`crate::query::params::concurrency_peaks`]) from memory: the views'
    /// minute spans are merged per viewer and swept once, so the cost grows with the number of views,
    /// not with how many minutes they span. An answer of more than [`MAX_CONCURRENCY_BUCKETS`] buckets
    /// is refused with what to change.
    pub fn concurrency_peaks(
        &self,
        tenant_id: &str,
        query: &MetricsQuery,
    ) -> Result<Vec<Map<String, Value>>, String> {
        match self.tenants.get(tenant_id) {
            Some(views) => concurrency(views, query),
            None => Ok(Vec::new()),
        }
    }
}

fn concurrency(
    views: &TenantViews,
    query: &MetricsQuery,
) -> Result<Vec<Map<String, Value>>, String> {
    let step = query.time_step.unwrap_or(TimeStep::Hour);
    let content = query
        .content_id
        .as_ref()
        .map(|c| views.ids.get(c.as_str()).copied().unwrap_or(NONE));
    if content == Some(NONE) {
        return Ok(Vec::new());
    }
    let mut filters: Vec<(usize, u32)> = Vec::new();
    for (dimension, value) in &query.filters {
        let id = views.ids.get(value.as_str()).copied().unwrap_or(NONE);
        if id == NONE {
            return Ok(Vec::new());
        }
        filters.push((slot(*dimension), id));
    }
    // Views overlapping the window: started before its end (rows are sorted by start) and with a last
    // event at or after its start.
    let hi = query.to_ms.map_or(views.rows.len(), |to| {
        views.rows.partition_point(|r| r.started_ms < to)
    });
    let mut spans: Vec<(u64, i64, i64)> = views
        .window(0, hi, content)
        .filter(|row| filters.iter().all(|(s, id)| row.dims[*s] == *id))
        .filter(|row| query.from_ms.is_none_or(|from| row.last_ms >= from))
        .map(|row| {
            (
                row.who,
                row.started_ms.div_euclid(60_000),
                row.last_ms.div_euclid(60_000),
            )
        })
        .filter(|(_, m0, m1)| m0 <= m1)
        .collect();
    // One viewer counts once in a minute: merge each viewer's spans where they overlap or touch.
    spans.sort_unstable();
    let mut edges: Vec<(i64, i64)> = Vec::with_capacity(spans.len() * 2);
    let mut open: Option<(u64, i64, i64)> = None;
    for (who, m0, m1) in spans {
        match open.as_mut() {
            Some((w, _, end)) if *w == who && m0 <= end.saturating_add(1) => *end = (*end).max(m1),
            _ => {
                if let Some((_, a, b)) = open.replace((who, m0, m1)) {
                    edges.extend([(a, 1), (b.saturating_add(1), -1)]);
                }
            }
        }
    }
    if let Some((_, a, b)) = open {
        edges.extend([(a, 1), (b.saturating_add(1), -1)]);
    }
    edges.sort_unstable();
    // The minutes asked for: [from // 60000, to // 60000).
    let first = query
        .from_ms
        .map_or(i64::MIN, |from| from.div_euclid(60_000));
    let end = query.to_ms.map_or(i64::MAX, |to| to.div_euclid(60_000));
    let mut peaks: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    let mut watching = 0i64;
    for (i, (at, change)) in edges.iter().enumerate() {
        watching += change;
        let next = edges.get(i + 1).map_or(*at, |(m, _)| *m);
        // `watching` viewers in every minute of [at, next), clipped to the window.
        let (mut m, until) = ((*at).max(first), next.min(end));
        if watching <= 0 {
            continue;
        }
        while m < until {
            let start = bucket(step, m.saturating_mul(60_000));
            let peak = peaks.entry(start).or_insert(0);
            *peak = (*peak).max(watching);
            if peaks.len() > MAX_CONCURRENCY_BUCKETS {
                return Err(format!(
                    "this answer would have more than {MAX_CONCURRENCY_BUCKETS} buckets; narrow `from` and `to` or \
                     use a larger `timeStep`"
                ));
            }
            m = next_bucket(step, start).div_euclid(60_000);
        }
    }
    Ok(peaks
        .into_iter()
        .map(|(timestamp, peak)| {
            let mut out = Map::new();
            out.insert("timestamp".into(), Value::from(timestamp));
            out.insert("concurrentPeak".into(), Value::from(peak));
            out
        })
        .collect())
}
