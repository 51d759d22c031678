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
//! Every answer here equals what the SQL of [`crate::metrics`] and [`crate::mave`] computes (the SQL is
//! the definition): tests compare the two on generated views for every dimension, time step, filter,
//! interval and timeframe.

use crate::mave::{self, PlaysQuery, Span, SpanUnit, Timeframe};
use crate::metrics::{number, Dimension, MetricsQuery, TimeStep};
use event_schema::civil_time::{civil_from_days, days_from_civil};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, RwLock};

/// A missing dimension value (SQL NULL).
const NONE: u32 = u32::MAX;
/// How many dimensions a view has.
const DIMENSIONS: usize = Dimension::ALL.len();

/// Where a dimension's value id sits in [`ViewRow::dims`]: its place in [`Dimension::ALL`].
fn slot(dimension: Dimension) -> usize {
    dimension as usize
}

/// One view: the columns the view metrics read.
#[derive(Debug, Clone, Copy)]
struct ViewRow {
    started_ms: i64,
    viewer_key: Option<u64>,
    ttff_ms: Option<i64>,
    watched_ms: i64,
    rebuffer_ms: i64,
    fatal_error: bool,
    reached_first_frame: bool,
    dims: [u32; DIMENSIONS],
    duration_s: Option<f64>,
    /// When its last event happened (the end of its span for concurrency).
    last_ms: i64,
    /// DuckDB's `hash(coalesce(session_id, view_id))`: who is watching, for concurrency.
    who: u64,
    /// The view's played ranges: `TenantViews::ranges[ranges_from..ranges_from + ranges_len]`.
    ranges_from: u32,
    ranges_len: u32,
}

/// One tenant's views and the strings they use.
#[derive(Debug, Default)]
pub struct TenantViews {
    values: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32, FxBuildHasher>,
    /// Sorted by `started_ms`.
    rows: Vec<ViewRow>,
    /// Played media ranges (seconds from, to) of every view, merged where they touch.
    ranges: Vec<(f64, f64)>,
    /// The positions in `rows` of each content's views, ascending (queries of one content read only
    /// those).
    by_content: FxHashMap<u32, Vec<u32>>,
}

impl TenantViews {
    fn intern(&mut self, value: &str) -> u32 {
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

    fn value(&self, id: u32) -> Option<&str> {
        self.values.get(id as usize).map(|v| &**v)
    }
}

impl TenantViews {
    /// The views started in `[lo, hi)` (positions in `rows`), of one content when `content` is given.
    fn window<'a>(
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

/// Reads the views of `tenant` (or of every tenant) from the `views` table.
pub fn read_views(
    conn: &duckdb::Connection,
    tenant: Option<&str>,
) -> Result<HashMap<String, TenantViews>, duckdb::Error> {
    let columns: Vec<String> = Dimension::ALL
        .iter()
        .map(|d| format!("v.{}", d.sql()))
        .collect();
    let sql = format!(
        "SELECT v.tenant_id, v.started_ms, v.viewer_key, v.ttff_ms, v.watched_ms, v.rebuffer_ms,
                v.fatal_error, v.reached_first_frame, {}, v.duration_s, r.froms, r.tos,
                v.last_ms, hash(coalesce(v.session_id, v.view_id))
         FROM views v
         LEFT JOIN (
             SELECT tenant_id, view_id, segment, list(from_s ORDER BY from_s) AS froms,
                    list(to_s ORDER BY from_s) AS tos
             FROM view_ranges
             WHERE ? IS NULL OR tenant_id = ?
             GROUP BY tenant_id, view_id, segment
         ) r ON r.tenant_id = v.tenant_id AND r.view_id = v.view_id AND r.segment = v.segment
         WHERE ? IS NULL OR v.tenant_id = ?
         ORDER BY v.tenant_id, v.started_ms",
        columns.join(", ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params![tenant, tenant, tenant, tenant])?;
    let mut out: HashMap<String, TenantViews> = HashMap::new();
    let mut current: Option<(String, TenantViews)> = None;
    while let Some(row) = rows.next()? {
        let tenant_id = text(row.get_ref(0)?).unwrap_or_default();
        if current.as_ref().is_none_or(|(t, _)| t != tenant_id) {
            if let Some((t, views)) = current.take() {
                out.insert(t, views);
            }
            current = Some((tenant_id.to_string(), TenantViews::default()));
        }
        let Some((_, views)) = current.as_mut() else {
            continue;
        };
        let mut dims = [NONE; DIMENSIONS];
        for (i, dim) in dims.iter_mut().enumerate() {
            if let Some(value) = text(row.get_ref(8 + i)?) {
                *dim = views.intern(value);
            }
        }
        let ranges_from = views.ranges.len() as u32;
        let after = 8 + DIMENSIONS;
        if let (duckdb::types::Value::List(froms), duckdb::types::Value::List(tos)) = (
            row.get_ref(after + 1)?.to_owned(),
            row.get_ref(after + 2)?.to_owned(),
        ) {
            for (from, to) in froms.iter().zip(tos.iter()) {
                if let (duckdb::types::Value::Double(from), duckdb::types::Value::Double(to)) =
                    (from, to)
                {
                    views.ranges.push((*from, *to));
                }
            }
        }
        if dims[0] != NONE {
            let position = views.rows.len() as u32;
            views.by_content.entry(dims[0]).or_default().push(position);
        }
        views.rows.push(ViewRow {
            duration_s: row.get(after)?,
            last_ms: row.get(after + 3)?,
            who: row.get(after + 4)?,
            ranges_from,
            ranges_len: views.ranges.len() as u32 - ranges_from,
            started_ms: row.get(1)?,
            viewer_key: row.get(2)?,
            ttff_ms: row.get(3)?,
            watched_ms: row.get(4)?,
            rebuffer_ms: row.get(5)?,
            fatal_error: row.get(6)?,
            reached_first_frame: row.get(7)?,
            dims,
        });
    }
    if let Some((t, views)) = current {
        out.insert(t, views);
    }
    Ok(out)
}

fn text(value: duckdb::types::ValueRef<'_>) -> Option<&str> {
    match value {
        duckdb::types::ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

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

    /// The view metrics of [`crate::metrics::view_metrics`], computed from memory.
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
    ) -> Vec<crate::store::ContentViews> {
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
        let mut out: Vec<crate::store::ContentViews> = counts
            .into_iter()
            .filter_map(|(id, views_count)| {
                Some(crate::store::ContentViews {
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

/// Most buckets one concurrency answer has (an hourly answer over five years).
pub const MAX_CONCURRENCY_BUCKETS: usize = 50_000;

impl ViewIndex {
    /// Peak concurrency per bucket ([`crate::metrics::concurrency_peaks`]) from memory: the views'
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

/// Where the bucket after the one starting at `start` starts.
fn next_bucket(step: TimeStep, start: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    match step {
        TimeStep::Hour => start.saturating_add(3_600_000),
        TimeStep::Day => start.saturating_add(DAY),
        TimeStep::Week => start.saturating_add(7 * DAY),
        // A day past the longest month (year) lands in the next one.
        TimeStep::Month => bucket(step, start.saturating_add(31 * DAY)),
        TimeStep::Year => bucket(step, start.saturating_add(366 * DAY)),
    }
}

impl ViewIndex {
    /// mave's plays ([`crate::mave::plays`]) from memory; `None` when the query filters on custom props
    /// (the index does not hold them: the store answers).
    pub fn plays(&self, tenant_id: &str, query: &PlaysQuery, now_ms: i64) -> Option<Vec<Value>> {
        if !query.props.is_empty() {
            return None;
        }
        let Some(views) = self.tenants.get(tenant_id) else {
            return Some(Vec::new());
        };
        let mut browsers = vec![u8::MAX; views.values.len()];
        let mut devices = vec![u8::MAX; views.values.len()];
        let mut platforms = vec![u8::MAX; views.values.len()];
        let memo = |memo: &mut Vec<u8>, id: u32, map: fn(Option<&str>) -> usize| -> usize {
            match memo.get(id as usize) {
                Some(&known) if known != u8::MAX => usize::from(known),
                Some(_) => {
                    let value = map(views.value(id));
                    memo[id as usize] = value as u8;
                    value
                }
                None => map(None),
            }
        };
        struct Plays {
            views: i64,
            watched_ms: i128,
            browser: [i64; mave::BROWSERS.len()],
            device_type: [i64; mave::DEVICE_TYPES.len()],
            platform: [i64; mave::PLATFORMS.len()],
        }
        let mut buckets: FxHashMap<i64, Plays> = FxHashMap::default();
        for row in play_rows(views, query, now_ms)? {
            let plays = buckets
                .entry(play_bucket(query.interval, row.started_ms))
                .or_insert(Plays {
                    views: 0,
                    watched_ms: 0,
                    browser: [0; mave::BROWSERS.len()],
                    device_type: [0; mave::DEVICE_TYPES.len()],
                    platform: [0; mave::PLATFORMS.len()],
                });
            plays.views += 1;
            plays.watched_ms += i128::from(row.watched_ms);
            plays.browser[memo(
                &mut browsers,
                row.dims[slot(Dimension::Browser)],
                mave::browser_of,
            )] += 1;
            plays.device_type[memo(
                &mut devices,
                row.dims[slot(Dimension::DeviceType)],
                mave::device_type_of,
            )] += 1;
            plays.platform[memo(
                &mut platforms,
                row.dims[slot(Dimension::Os)],
                mave::platform_of,
            )] += 1;
        }
        let mut buckets: Vec<(i64, Plays)> = buckets.into_iter().collect();
        buckets.sort_unstable_by_key(|(bucket, _)| *bucket);
        let counts = |names: &[&str], counts: &[i64]| -> Map<String, Value> {
            names
                .iter()
                .zip(counts)
                .map(|(name, n)| ((*name).to_string(), Value::from(*n)))
                .collect()
        };
        Some(
            buckets
                .into_iter()
                .map(|(bucket, plays)| {
                    json!({
                        "interval": mave::bucket_label(bucket),
                        "views": plays.views,
                        "total_view_time": plays.watched_ms as f64 / 1000.0,
                        "browser": counts(&mave::BROWSERS, &plays.browser),
                        "device_type": counts(&mave::DEVICE_TYPES, &plays.device_type),
                        "platform": counts(&mave::PLATFORMS, &plays.platform),
                    })
                })
                .collect(),
        )
    }

    /// mave's sources ([`crate::mave::sources`]) from memory, as the whole JSON answer
    /// `{"sources": [...]}` (tens of thousands of rows: written straight from strings escaped once per
    /// page, rather than through a row struct per row); `None` as for [`ViewIndex::plays`].
    pub fn sources_json(
        &self,
        tenant_id: &str,
        query: &PlaysQuery,
        now_ms: i64,
    ) -> Option<Vec<u8>> {
        if !query.props.is_empty() {
            return None;
        }
        let mut out = br#"{"sources":["#.to_vec();
        if let Some(views) = self.tenants.get(tenant_id) {
            write_sources(views, query, now_ms, &mut out)?;
        }
        out.extend_from_slice(b"]}");
        Some(out)
    }
}

fn write_sources(
    views: &TenantViews,
    query: &PlaysQuery,
    now_ms: i64,
    out: &mut Vec<u8>,
) -> Option<()> {
    let source = slot(Dimension::Source);
    let mut groups: FxHashMap<(i64, u32), i64> = FxHashMap::default();
    for row in play_rows(views, query, now_ms)? {
        if row.dims[source] != NONE {
            *groups
                .entry((
                    play_bucket(query.interval, row.started_ms),
                    row.dims[source],
                ))
                .or_default() += 1;
        }
    }
    // Each page once: its rank in string order, and `"host":"…",` and `"path":"…",` as JSON.
    let mut pages: Vec<u32> = groups.keys().map(|(_, page)| *page).collect();
    pages.sort_unstable();
    pages.dedup();
    pages.sort_unstable_by(|a, b| views.value(*a).cmp(&views.value(*b)));
    let mut rank: FxHashMap<u32, (u32, Vec<u8>, Vec<u8>)> = FxHashMap::default();
    for (i, page) in pages.into_iter().enumerate() {
        let path = views.value(page).unwrap_or_default();
        let field = |name: &str, value: &str| {
            let mut text = format!(r#""{name}":"#).into_bytes();
            serde_json::to_writer(&mut text, value).ok()?;
            text.push(b',');
            Some(text)
        };
        rank.insert(
            page,
            (
                i as u32,
                field("host", mave::host_of(path))?,
                field("path", path)?,
            ),
        );
    }
    let mut groups: Vec<(i64, i64, u32, u32)> = groups
        .into_iter()
        .map(|((bucket, page), plays)| (bucket, plays, rank.get(&page).map_or(0, |r| r.0), page))
        .collect();
    // ORDER BY bucket, plays DESC, source
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut label = (i64::MIN, Vec::new());
    for (i, (bucket, plays, _, page)) in groups.into_iter().enumerate() {
        if label.0 != bucket {
            let mut text = br#""interval":"#.to_vec();
            serde_json::to_writer(&mut text, &mave::bucket_label(bucket)).ok()?;
            text.push(b',');
            label = (bucket, text);
        }
        let (_, host, path) = rank.get(&page)?;
        if i > 0 {
            out.push(b',');
        }
        // mave's (alphabetical) field order, as `SourceRow` serializes.
        out.push(b'{');
        out.extend_from_slice(host);
        out.extend_from_slice(&label.1);
        out.extend_from_slice(path);
        out.extend_from_slice(br#""views":"#);
        out.extend_from_slice(plays.to_string().as_bytes());
        out.push(b'}');
    }
    Some(())
}

impl ViewIndex {
    /// mave's engagement ([`crate::mave::engagement`]) from memory; `None` as for
    /// [`ViewIndex::plays`].
    pub fn engagement(
        &self,
        tenant_id: &str,
        query: &PlaysQuery,
        ranges: u32,
        now_ms: i64,
    ) -> Option<Vec<Value>> {
        if !query.props.is_empty() {
            return None;
        }
        let Some(views) = self.tenants.get(tenant_id) else {
            return Some(Vec::new());
        };
        let plays: Vec<&ViewRow> = play_rows(views, query, now_ms)?.collect();
        let played = |row: &ViewRow| {
            let from = row.ranges_from as usize;
            views
                .ranges
                .get(from..from + row.ranges_len as usize)
                .unwrap_or_default()
        };
        // The timeline: the longest known duration of the plays, else the furthest played second.
        let longest = |values: &mut dyn Iterator<Item = f64>| {
            values.fold(None, |max: Option<f64>, x| {
                Some(max.map_or(x, |m| m.max(x)))
            })
        };
        let length_s = longest(&mut plays.iter().filter_map(|r| r.duration_s)).or_else(|| {
            longest(
                &mut plays
                    .iter()
                    .flat_map(|r| played(r).iter().map(|(_, to)| *to)),
            )
        });
        // No timeline (nothing played, or of no length): no ranges.
        let Some(length_s) = length_s.filter(|l| *l > 0.0) else {
            return Some(Vec::new());
        };
        let n = f64::from(ranges);
        // Each cut as SQL computes it: i * length / ranges.
        let cuts: Vec<(f64, f64)> = (0..i64::from(ranges))
            .map(|i| (i as f64 * length_s / n, (i + 1) as f64 * length_s / n))
            .collect();
        let mut viewers = vec![0i64; cuts.len()];
        let mut last_play = vec![usize::MAX; cuts.len()];
        for (play, row) in plays.iter().enumerate() {
            for (from, to) in played(row) {
                // Start a cut early (float rounding), then test each cut exactly.
                let first = ((from * n / length_s).floor() as i64 - 1).clamp(0, cuts.len() as i64);
                for (i, (cut_from, cut_to)) in cuts.iter().enumerate().skip(first as usize) {
                    if *cut_from >= *to {
                        break;
                    }
                    if *cut_to > *from && last_play[i] != play {
                        last_play[i] = play;
                        viewers[i] += 1;
                    }
                }
            }
        }
        Some(
            cuts.iter()
                .zip(viewers)
                .enumerate()
                .map(|(i, ((from, to), viewers))| {
                    json!({
                        "range": i as i64,
                        "range_time": {"from": from, "to": to},
                        "viewers": viewers,
                    })
                })
                .collect(),
        )
    }
}

/// The plays a mave query covers: views of the window and content with enough watched time. `None`
/// when the window cannot be computed here.
fn play_rows<'a>(
    views: &'a TenantViews,
    query: &'a PlaysQuery,
    now_ms: i64,
) -> Option<impl Iterator<Item = &'a ViewRow> + 'a> {
    let (from, to) = match &query.timeframe {
        Timeframe::Last(span) => (span_before(*span, now_ms)?, None),
        Timeframe::Between { from_ms, to_ms } => (*from_ms, *to_ms),
    };
    let lo = views.rows.partition_point(|r| r.started_ms < from);
    // The upper end is inclusive.
    let hi = to.map_or(views.rows.len(), |to| {
        views.rows.partition_point(|r| r.started_ms <= to)
    });
    let content = query
        .identifier
        .as_ref()
        .map(|id| views.ids.get(id.as_str()).copied().unwrap_or(NONE));
    let minimum = query.minimum_watch_ms;
    Some(
        views
            .window(lo, hi, content)
            .filter(move |r| r.watched_ms >= minimum),
    )
}

/// `now - span` in epoch ms, as DuckDB subtracts an interval from a timestamp: fixed units exactly,
/// months and years on the calendar with the day clamped to the month's last.
fn span_before(span: Span, now_ms: i64) -> Option<i64> {
    const DAY: i64 = 86_400_000;
    let fixed = |unit: i64| now_ms.checked_sub(span.count.checked_mul(unit)?);
    match span.unit {
        SpanUnit::Minute => fixed(60_000),
        SpanUnit::Hour => fixed(3_600_000),
        SpanUnit::Day => fixed(DAY),
        SpanUnit::Week => fixed(7 * DAY),
        SpanUnit::Month | SpanUnit::Year => {
            let months = if span.unit == SpanUnit::Year {
                span.count.checked_mul(12)?
            } else {
                span.count
            };
            let day_number = now_ms.div_euclid(DAY);
            let time_of_day = now_ms.rem_euclid(DAY);
            let (year, month, day) = civil_from_days(day_number);
            let index = year * 12 + i64::from(month) - 1 - months;
            let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
            let day = day.min(days_in_month(year, month));
            Some(days_from_civil(year, month, day) * DAY + time_of_day)
        }
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1)) as u32
}

/// A play's interval bucket, as [`PlaysQuery`]'s SQL computes it: fixed widths from Monday
/// 2000-01-03, months and years as DuckDB's `time_bucket` (whole months from 2000-01-01).
fn play_bucket(interval: Span, started_ms: i64) -> i64 {
    const ORIGIN_MS: i64 = 946_857_600_000;
    const DAY: i64 = 86_400_000;
    let width = match interval.unit {
        SpanUnit::Minute => Some(60_000),
        SpanUnit::Hour => Some(3_600_000),
        SpanUnit::Day => Some(DAY),
        SpanUnit::Week => Some(7 * DAY),
        SpanUnit::Month | SpanUnit::Year => None,
    };
    match width {
        Some(unit) => {
            let width = interval.count * unit;
            (started_ms - ORIGIN_MS).div_euclid(width) * width + ORIGIN_MS
        }
        None => {
            let width = if interval.unit == SpanUnit::Year {
                interval.count * 12
            } else {
                interval.count
            };
            let (year, month, _) = civil_from_days(started_ms.div_euclid(DAY));
            let months = (year - 2000) * 12 + i64::from(month) - 1;
            let bucket = months.div_euclid(width) * width;
            days_from_civil(
                2000 + bucket.div_euclid(12),
                bucket.rem_euclid(12) as u32 + 1,
                1,
            ) * DAY
        }
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

/// The bucket of `started_ms` for `step` (epoch ms, UTC), as [`TimeStep`]'s SQL computes it.
fn bucket(step: TimeStep, started_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    match step {
        TimeStep::Hour => started_ms.div_euclid(3_600_000) * 3_600_000,
        TimeStep::Day => started_ms.div_euclid(DAY) * DAY,
        TimeStep::Week => (started_ms + 3 * DAY).div_euclid(7 * DAY) * (7 * DAY) - 3 * DAY,
        TimeStep::Month | TimeStep::Year => {
            let (year, month, _) = civil_from_days(started_ms.div_euclid(DAY));
            let month = if step == TimeStep::Year { 1 } else { month };
            days_from_civil(year, month, 1) * DAY
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::view_metrics as sql_view_metrics;
    use crate::store::Store;

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// One of `values`, or missing one time in eight.
        fn pick(&mut self, values: &[&str]) -> Option<String> {
            if self.below(8) == 0 {
                None
            } else {
                Some(values[self.below(values.len() as u64) as usize].to_string())
            }
        }
    }

    const T0: i64 = 1_767_225_600_000 - 40 * 86_400_000; // 40 days before 2026-01-01

    /// Views with every column varied: missing values, ties, views without a first frame, with a
    /// TTFF but no first frame, without playing time, across months and a year boundary.
    fn store_with_views() -> Store {
        let store = Store::open_in_memory().expect("store");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // `views` is the counted segments: some segments here are not counted and must not show.
        let sql = "INSERT INTO view_segments (tenant_id, view_id, segment, started_ms, last_ms,
                       last_received_ms, first_eid, counted, has_view_start, has_first_frame,
                       content_id, content_type, viewer_id, viewer_key, ttff_ms, watched_ms,
                       rebuffer_ms, rebuffer_count, fatal_error, reached_first_frame, ended, source,
                       browser, browser_engine, os, device_type, device, continent, country,
                       subdivision, timezone, session_id)
                   VALUES (?, ?, 0, ?, ?, 0, 'e', ?, true, true, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, false, ?,
                           ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let mut stmt = store.conn.prepare(sql).expect("prepare");
        for i in 0..4000u64 {
            let tenant = if i % 5 == 0 { "globex" } else { "acme" };
            let started =
                T0 + (rng.below(80 * 24) as i64) * 3_600_000 + rng.below(3_600_000) as i64;
            let viewer = rng.pick(&[
                "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "anon-ü",
            ]);
            let viewer_key = viewer
                .as_ref()
                .map(|v| v.len() as u64 * 1000 + rng.below(3));
            let reached = rng.below(6) != 0;
            let ttff = (rng.below(5) != 0).then(|| (rng.below(40) * 50) as i64);
            let played = rng.below(7) != 0;
            let watched = if played { rng.below(600_000) as i64 } else { 0 };
            let rebuffer = if played && rng.below(3) == 0 {
                rng.below(20_000) as i64
            } else {
                0
            };
            stmt.execute(duckdb::params![
                tenant,
                format!("v{i}"),
                started,
                // Some views last hours (concurrency across buckets).
                started + watched + (i % 7) as i64 * 1_800_000,
                i % 50 != 7,
                rng.pick(&["c1", "c2", "c3", "Zed", "ärger"]),
                rng.pick(&["vod", "live"]),
                viewer,
                viewer_key,
                ttff,
                watched,
                rebuffer,
                rng.below(9) == 0,
                reached,
                rng.pick(&["/a", "/b", "https://x.example/watch", "http://y.example"]),
                rng.pick(&[
                    "Chrome",
                    "Firefox",
                    "Safari",
                    "Edge",
                    "Mobile Safari",
                    "Chrome Mobile",
                    "Opera Mini",
                    "Brave",
                    "IE",
                    "HeadlessChrome",
                    "Firefox iOS",
                    "Samsung Internet",
                ]),
                rng.pick(&["Blink", "Gecko", "WebKit"]),
                rng.pick(&[
                    "Windows",
                    "Mac OS X",
                    "Android",
                    "iOS",
                    "iPadOS",
                    "Ubuntu",
                    "Chrome OS",
                    "Tizen"
                ]),
                rng.pick(&["desktop", "mobile", "tablet", "tv"]),
                rng.pick(&["Other", "iPhone", "Pixel 7"]),
                rng.pick(&["EU", "NA"]),
                rng.pick(&["DE", "US", "FR", "BR"]),
                rng.pick(&["BE", "TX", "IDF"]),
                rng.pick(&["Europe/Berlin", "America/Chicago"]),
                // A third of the views share a few sessions (one viewer per session in concurrency).
                (i % 3 == 0).then(|| format!("s{}", i % 40)),
            ])
            .expect("insert");
        }
        drop(stmt);
        // Durations for some contents (engagement's timeline), none for others (then the furthest
        // played second is the timeline).
        store
            .conn
            .execute_batch(
                "UPDATE view_segments SET duration_s = CASE content_id
                     WHEN 'c1' THEN 600.0 WHEN 'c3' THEN 1234.5 WHEN 'Zed' THEN 0.0 END",
            )
            .expect("durations");
        let mut stmt = store
            .conn
            .prepare(
                "INSERT INTO view_ranges (tenant_id, view_id, segment, content_id, started_ms, from_s, to_s)
                 SELECT tenant_id, view_id, segment, content_id, started_ms, ?, ? FROM view_segments
                 WHERE view_id = ?",
            )
            .expect("prepare");
        for i in 0..4000u64 {
            let mut at = rng.below(300) as f64 + rng.below(1000) as f64 / 1000.0;
            for _ in 0..rng.below(4) {
                let to = at + rng.below(200) as f64 + 0.25;
                stmt.execute(duckdb::params![at, to, format!("v{i}")])
                    .expect("range");
                at = to + rng.below(100) as f64 + 0.5;
            }
        }
        drop(stmt);
        store
    }

    fn index_of(store: &Store) -> ViewIndex {
        ViewIndex::new(store.read_views(None).expect("read"))
    }

    fn queries() -> Vec<MetricsQuery> {
        use Dimension::*;
        let day = 86_400_000;
        let mut out = vec![MetricsQuery::default()];
        for d in Dimension::ALL {
            out.push(MetricsQuery {
                breakdown: vec![d],
                ..MetricsQuery::default()
            });
        }
        for step in [
            TimeStep::Hour,
            TimeStep::Day,
            TimeStep::Week,
            TimeStep::Month,
            TimeStep::Year,
        ] {
            out.push(MetricsQuery {
                time_step: Some(step),
                ..MetricsQuery::default()
            });
            out.push(MetricsQuery {
                time_step: Some(step),
                breakdown: vec![Country, Browser],
                from_ms: Some(T0 + 10 * day + 12_345),
                to_ms: Some(T0 + 50 * day),
                ..MetricsQuery::default()
            });
        }
        out.extend([
            MetricsQuery {
                breakdown: vec![Browser, Os],
                from_ms: Some(T0 + 30 * day),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                breakdown: vec![Os, Browser, DeviceType, Country],
                to_ms: Some(T0 + 20 * day),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                content_id: Some("c2".into()),
                time_step: Some(TimeStep::Day),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                content_id: Some("no such content".into()),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                content_id: Some("c1".into()),
                from_ms: Some(T0 + 5 * day + 1),
                to_ms: Some(T0 + 30 * day - 1),
                breakdown: vec![Country],
                ..MetricsQuery::default()
            },
            MetricsQuery {
                filters: vec![(Country, "DE".into()), (Browser, "Safari".into())],
                breakdown: vec![ViewerId],
                ..MetricsQuery::default()
            },
            MetricsQuery {
                filters: vec![(Country, "XX".into())],
                time_step: Some(TimeStep::Day),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                from_ms: Some(T0 + 500 * day),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                from_ms: Some(T0 - 500 * day),
                to_ms: Some(T0 - 400 * day),
                breakdown: vec![Country],
                ..MetricsQuery::default()
            },
        ]);
        out
    }

    #[test]
    fn the_index_answers_exactly_what_the_sql_definitions_answer() {
        let store = store_with_views();
        let index = index_of(&store);
        assert_eq!(index.view_count(), 4000 - 80, "counted segments only");
        for tenant in ["acme", "globex", "nobody"] {
            for query in queries() {
                let sql = sql_view_metrics(&store.conn, tenant, &query).expect("sql");
                let memory = index.view_metrics(tenant, &query);
                if let Some(i) =
                    (0..sql.len().max(memory.len())).find(|i| sql.get(*i) != memory.get(*i))
                {
                    panic!(
                        "tenant {tenant}, {query:?}: row {i} of {} (SQL) and {} (index):\nSQL   {:?}\nindex {:?}",
                        sql.len(),
                        memory.len(),
                        sql.get(i),
                        memory.get(i)
                    );
                }
                assert_eq!(
                    Value::from(memory),
                    Value::from(sql),
                    "tenant {tenant}, {query:?}"
                );
            }
        }
        // The generated views do exercise the cases: groups, missing values, several years.
        let by_year = index.view_metrics(
            "acme",
            &MetricsQuery {
                time_step: Some(TimeStep::Year),
                ..MetricsQuery::default()
            },
        );
        assert_eq!(by_year.len(), 2, "{by_year:?}");
        let by_country = index.view_metrics(
            "acme",
            &MetricsQuery {
                breakdown: vec![Dimension::Country],
                ..MetricsQuery::default()
            },
        );
        assert_eq!(by_country.len(), 5, "four countries and the unknown one");
        assert!(by_country
            .last()
            .is_some_and(|r| r.get("country").is_none()));
    }

    #[test]
    fn concurrency_from_memory_equals_the_sql_definition() {
        let store = store_with_views();
        let index = index_of(&store);
        let day = 86_400_000;
        let mut queries = queries();
        queries.retain(|q| q.breakdown.is_empty());
        queries.extend([
            MetricsQuery {
                time_step: Some(TimeStep::Hour),
                from_ms: Some(T0 + 3 * day + 59_999),
                to_ms: Some(T0 + 4 * day + 90_001),
                ..MetricsQuery::default()
            },
            MetricsQuery {
                time_step: Some(TimeStep::Hour),
                content_id: Some("c3".into()),
                filters: vec![(Dimension::Country, "DE".into())],
                to_ms: Some(T0 + 9 * day),
                ..MetricsQuery::default()
            },
        ]);
        let mut peaks_above_one = 0;
        for tenant in ["acme", "globex", "nobody"] {
            for query in &queries {
                let sql =
                    crate::metrics::concurrency_peaks(&store.conn, tenant, query).expect("sql");
                let memory = index.concurrency_peaks(tenant, query).expect("memory");
                assert_eq!(
                    Value::from(memory),
                    Value::from(sql.clone()),
                    "tenant {tenant}, {query:?}"
                );
                peaks_above_one += sql
                    .iter()
                    .filter(|r| r["concurrentPeak"].as_i64() > Some(1))
                    .count();
            }
        }
        assert!(
            peaks_above_one > 100,
            "overlaps are exercised: {peaks_above_one}"
        );
    }

    #[test]
    fn views_by_content_from_memory_equal_the_sql_ones() {
        let store = store_with_views();
        let index = index_of(&store);
        let day = 86_400_000;
        let windows = [
            (None, None),
            (Some(T0 + 10 * day + 1), None),
            (None, Some(T0 + 20 * day)),
            (Some(T0 + 3 * day), Some(T0 + 4 * day)),
            (Some(T0 - 9 * day), Some(T0 - 8 * day)),
        ];
        for tenant in ["acme", "globex", "nobody"] {
            for (from, to) in windows {
                let sql = store.views_by_content(tenant, from, to).expect("sql");
                assert_eq!(
                    index.views_by_content(tenant, from, to),
                    sql,
                    "{tenant} {from:?} {to:?}"
                );
            }
        }
        assert!(
            store
                .views_by_content("acme", None, None)
                .expect("sql")
                .len()
                >= 4
        );
    }

    #[test]
    fn a_concurrency_answer_of_too_many_buckets_is_refused_without_computing_it() {
        let store = store_with_views();
        // One view watched for ten years: hourly, that is 87 600 buckets.
        store
            .conn
            .execute_batch(
                "UPDATE view_segments SET last_ms = started_ms + 315360000000 WHERE view_id = 'v1'",
            )
            .expect("update");
        let index = index_of(&store);
        let error = index
            .concurrency_peaks("acme", &MetricsQuery::default())
            .expect_err("too many buckets");
        assert!(error.contains("timeStep"), "{error}");
        let yearly = index
            .concurrency_peaks(
                "acme",
                &MetricsQuery {
                    time_step: Some(TimeStep::Year),
                    ..MetricsQuery::default()
                },
            )
            .expect("yearly");
        assert_eq!(yearly.len(), 11, "{yearly:?}");
    }

    fn plays_queries() -> Vec<PlaysQuery> {
        let day = 86_400_000;
        let span = |count, unit| Span { count, unit };
        let mut out = Vec::new();
        for interval in [
            span(1, SpanUnit::Day),
            span(6, SpanUnit::Hour),
            span(15, SpanUnit::Minute),
            span(2, SpanUnit::Week),
            span(1, SpanUnit::Month),
            span(3, SpanUnit::Month),
            span(1, SpanUnit::Year),
        ] {
            for timeframe in [
                Timeframe::Last(span(7, SpanUnit::Day)),
                Timeframe::Last(span(1, SpanUnit::Month)),
                Timeframe::Last(span(2, SpanUnit::Year)),
                Timeframe::Last(span(36, SpanUnit::Hour)),
                Timeframe::Between {
                    from_ms: T0 + 3 * day,
                    to_ms: None,
                },
            ] {
                out.push(PlaysQuery {
                    interval,
                    timeframe,
                    ..PlaysQuery::default()
                });
            }
        }
        for (identifier, minimum_watch_ms) in [
            (Some("c2"), 30_000),
            (Some("no such content"), 0),
            (None, 0),
            (None, 600_000),
        ] {
            out.push(PlaysQuery {
                identifier: identifier.map(String::from),
                minimum_watch_ms,
                interval: span(1, SpanUnit::Day),
                timeframe: Timeframe::Between {
                    from_ms: T0,
                    to_ms: Some(T0 + 20 * day),
                },
                ..PlaysQuery::default()
            });
        }
        out
    }

    /// Every number of an answer: finite and not negative.
    fn assert_sane_numbers(context: &str, value: &Value) {
        match value {
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                assert!(f.is_finite() && f >= 0.0, "{context}: {n}");
            }
            Value::Array(items) => items.iter().for_each(|v| assert_sane_numbers(context, v)),
            Value::Object(fields) => fields
                .values()
                .for_each(|v| assert_sane_numbers(context, v)),
            _ => {}
        }
    }

    #[test]
    fn extreme_stored_values_pass_through_every_metric_without_overflow() {
        let store = store_with_views();
        // Values no event can carry (the edge refuses them and a load quarantines them), stored as
        // if they had been: sums over them overflow 64 bits, and ranges reach far past the media.
        store
            .conn
            .execute_batch(
                "UPDATE view_segments SET watched_ms = 9223372036854775807,
                     rebuffer_ms = 9223372036854775807, ttff_ms = 9223372036854775807,
                     duration_s = CASE WHEN content_id = 'c1' THEN 1e300 ELSE duration_s END,
                     furthest_position_s = 1e300
                 WHERE view_id LIKE 'v1%' OR view_id LIKE 'v3%';
                 UPDATE view_ranges SET to_s = 1e300 WHERE view_id LIKE 'v2%' OR view_id LIKE 'v1%';",
            )
            .expect("extremes");
        let index = index_of(&store);
        let now_ms = T0 + 45 * 86_400_000;
        for query in queries() {
            let memory = Value::from(index.view_metrics("acme", &query));
            assert_sane_numbers(&format!("{query:?}"), &memory);
        }
        for query in plays_queries() {
            let plays = index.plays("acme", &query, now_ms).expect("plays");
            assert_sane_numbers("plays", &Value::from(plays));
            for ranges in [1, 100] {
                let engagement = index
                    .engagement("acme", &query, ranges, now_ms)
                    .expect("engagement");
                assert_sane_numbers("engagement", &Value::from(engagement));
            }
            let sources = index.sources_json("acme", &query, now_ms).expect("sources");
            let sources: Value = serde_json::from_slice(&sources).expect("json");
            assert_sane_numbers("sources", &sources);
        }
    }

    #[test]
    fn mave_plays_and_sources_from_the_index_equal_the_sql_ones() {
        let store = store_with_views();
        let index = index_of(&store);
        let day = 86_400_000;
        // "now" inside the data, on a month's last day, and after it.
        for now_ms in [
            T0 + 45 * day + 1234,
            1_772_236_800_000 + 3_600_000,
            T0 + 400 * day,
        ] {
            for tenant in ["acme", "globex", "nobody"] {
                for query in plays_queries() {
                    let sql = crate::mave::plays(&store.conn, tenant, &query, now_ms).expect("sql");
                    let memory = index.plays(tenant, &query, now_ms).expect("no props");
                    assert_eq!(
                        Value::from(memory),
                        Value::from(sql),
                        "plays, {tenant}, {now_ms}, {query:?}"
                    );
                    for ranges in [1, 7, 100] {
                        let sql =
                            crate::mave::engagement(&store.conn, tenant, &query, ranges, now_ms)
                                .expect("sql");
                        let memory = index
                            .engagement(tenant, &query, ranges, now_ms)
                            .expect("no props");
                        assert_eq!(
                            Value::from(memory),
                            Value::from(sql),
                            "engagement, {ranges}, {tenant}, {now_ms}, {query:?}"
                        );
                    }
                    let sql =
                        crate::mave::sources(&store.conn, tenant, &query, now_ms).expect("sql");
                    let memory = index
                        .sources_json(tenant, &query, now_ms)
                        .expect("no props");
                    // Byte for byte what serializing the store's rows gives.
                    let expected = serde_json::to_vec(&json!({ "sources": sql })).expect("json");
                    assert_eq!(
                        String::from_utf8_lossy(&memory),
                        String::from_utf8_lossy(&expected),
                        "sources, {tenant}, {now_ms}, {query:?}"
                    );
                }
            }
        }
        let some = index
            .plays("acme", &plays_queries()[0], T0 + 45 * day)
            .expect("plays");
        assert!(!some.is_empty());
        // Custom props are not in the index: the store answers those.
        let with_props = PlaysQuery {
            props: vec![("plan".into(), "pro".into())],
            ..PlaysQuery::default()
        };
        assert!(index.plays("acme", &with_props, T0).is_none());
        assert!(index.sources_json("acme", &with_props, T0).is_none());
    }

    #[test]
    fn spans_before_now_and_play_buckets_equal_duckdbs() {
        let store = Store::open_in_memory().expect("store");
        let mut instants = crate::metrics::tests::sample_instants();
        // Month ends: 2024-03-31, 2025-12-31 and 2024-02-29, at midday.
        instants.extend([1_711_886_400_000, 1_767_182_400_000, 1_709_208_000_000]);
        let spans = [
            Span {
                count: 1,
                unit: SpanUnit::Month,
            },
            Span {
                count: 13,
                unit: SpanUnit::Month,
            },
            Span {
                count: 1,
                unit: SpanUnit::Year,
            },
            Span {
                count: 3,
                unit: SpanUnit::Week,
            },
            Span {
                count: 90,
                unit: SpanUnit::Minute,
            },
        ];
        for ms in instants {
            for span in spans {
                let (interval, n) = span.sql();
                let sql: i64 = store
                    .conn
                    .query_row(
                        &format!("SELECT epoch_ms(make_timestamp(?::BIGINT * 1000) - {interval})"),
                        duckdb::params![ms, n],
                        |r| r.get(0),
                    )
                    .expect("sql");
                assert_eq!(span_before(span, ms), Some(sql), "{ms} - {span:?}");
                let sql: i64 = store
                    .conn
                    .query_row(
                        &format!("SELECT epoch_ms(time_bucket({interval}, make_timestamp(?::BIGINT * 1000)))"),
                        duckdb::params![n, ms],
                        |r| r.get(0),
                    )
                    .expect("sql");
                if matches!(span.unit, SpanUnit::Month | SpanUnit::Year) {
                    assert_eq!(play_bucket(span, ms), sql, "bucket of {ms} by {span:?}");
                }
            }
        }
    }

    #[test]
    fn a_tenant_read_again_replaces_only_that_tenant() {
        let store = store_with_views();
        let index = index_of(&store);
        store
            .conn
            .execute("DELETE FROM view_segments WHERE tenant_id = 'globex'", [])
            .expect("delete");
        store
            .conn
            .execute(
                "DELETE FROM view_segments WHERE tenant_id = 'acme' AND country = 'DE'",
                [],
            )
            .expect("delete");
        let fresh = store.read_views(Some("globex")).expect("read");
        let next = index.with_tenants(&["globex".to_string()], fresh);
        assert!(next
            .view_metrics("globex", &MetricsQuery::default())
            .is_empty());
        // acme was not read again: still the views it had.
        assert_eq!(
            Value::from(next.view_metrics("acme", &MetricsQuery::default())),
            Value::from(index.view_metrics("acme", &MetricsQuery::default()))
        );
        let fresh = store.read_views(Some("acme")).expect("read");
        let next = next.with_tenants(&["acme".to_string()], fresh);
        assert_eq!(
            Value::from(next.view_metrics("acme", &MetricsQuery::default())),
            Value::from(
                sql_view_metrics(&store.conn, "acme", &MetricsQuery::default()).expect("sql")
            )
        );
    }

    #[test]
    fn calendar_buckets_equal_the_sql_ones() {
        let store = Store::open_in_memory().expect("store");
        for ms in crate::metrics::tests::sample_instants() {
            for (step, unit) in [
                (TimeStep::Month, "month"),
                (TimeStep::Year, "year"),
                (TimeStep::Week, "week"),
            ] {
                let sql: i64 = store
                    .conn
                    .query_row(
                        &format!("SELECT epoch_ms(date_trunc('{unit}', make_timestamp(?::BIGINT * 1000)))"),
                        [ms],
                        |r| r.get(0),
                    )
                    .expect("sql");
                assert_eq!(bucket(step, ms), sql, "{unit} of {ms}");
            }
        }
    }
}
