//! mave's plays, sources and engagement, from memory.

use super::params::{Dimension, PlaysQuery, Timeframe};
use super::time::*;
use super::views::{slot, TenantViews, ViewRow, NONE};
use super::ViewIndex;
use rustc_hash::FxHashMap;
use serde_json::{json, Map, Value};

impl ViewIndex {
    /// mave's plays (`/api/v1/plays`): per interval, plays, their total watched seconds, and counts
    /// per browser, device type and platform.
    pub fn plays(&self, tenant_id: &str, query: &PlaysQuery, now_ms: i64) -> Vec<Value> {
        let Some(views) = self.tenants.get(tenant_id) else {
            return Vec::new();
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
            browser: [i64; BROWSERS.len()],
            device_type: [i64; DEVICE_TYPES.len()],
            platform: [i64; PLATFORMS.len()],
        }
        let mut buckets: FxHashMap<i64, Plays> = FxHashMap::default();
        for row in play_rows(views, query, now_ms) {
            let plays = buckets
                .entry(play_bucket(query.interval, row.started_ms))
                .or_insert(Plays {
                    views: 0,
                    watched_ms: 0,
                    browser: [0; BROWSERS.len()],
                    device_type: [0; DEVICE_TYPES.len()],
                    platform: [0; PLATFORMS.len()],
                });
            plays.views += 1;
            plays.watched_ms += i128::from(row.watched_ms);
            plays.browser[memo(
                &mut browsers,
                row.dims[slot(Dimension::Browser)],
                browser_of,
            )] += 1;
            plays.device_type[memo(
                &mut devices,
                row.dims[slot(Dimension::DeviceType)],
                device_type_of,
            )] += 1;
            plays.platform[memo(&mut platforms, row.dims[slot(Dimension::Os)], platform_of)] += 1;
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
        buckets
            .into_iter()
            .map(|(bucket, plays)| {
                json!({
                    "interval": bucket_label(bucket),
                    "views": plays.views,
                    "total_view_time": plays.watched_ms as f64 / 1000.0,
                    "browser": counts(&BROWSERS, &plays.browser),
                    "device_type": counts(&DEVICE_TYPES, &plays.device_type),
                    "platform": counts(&PLATFORMS, &plays.platform),
                })
            })
            .collect()
    }

    /// mave's sources (`/api/v1/sources`): plays per interval and source page (URL without query and
    /// fragment), as the whole JSON answer `{"sources": [...]}` (tens of thousands of rows: written
    /// straight from strings escaped once per page, rather than through a row struct per row).
    pub fn sources_json(&self, tenant_id: &str, query: &PlaysQuery, now_ms: i64) -> Vec<u8> {
        let mut out = br#"{"sources":["#.to_vec();
        if let Some(views) = self.tenants.get(tenant_id) {
            write_sources(views, query, now_ms, &mut out);
        }
        out.extend_from_slice(b"]}");
        out
    }
}

fn write_sources(views: &TenantViews, query: &PlaysQuery, now_ms: i64, out: &mut Vec<u8>) {
    let source = slot(Dimension::Source);
    let mut groups: FxHashMap<(i64, u32), i64> = FxHashMap::default();
    for row in play_rows(views, query, now_ms) {
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
            json_string(&mut text, value);
            text.push(b',');
            text
        };
        rank.insert(
            page,
            (i as u32, field("host", host_of(path)), field("path", path)),
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
            json_string(&mut text, &bucket_label(bucket));
            text.push(b',');
            label = (bucket, text);
        }
        let Some((_, host, path)) = rank.get(&page) else {
            continue;
        };
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
}

/// `value` as a JSON string.
fn json_string(out: &mut Vec<u8>, value: &str) {
    // Writing a string into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

impl ViewIndex {
    /// mave's engagement (`/api/v1/engagement`): the media timeline (the longest known duration of
    /// the plays, else the furthest played second) cut into `ranges` equal ranges, and per range the
    /// plays that played any part of it.
    pub fn engagement(
        &self,
        tenant_id: &str,
        query: &PlaysQuery,
        ranges: u32,
        now_ms: i64,
    ) -> Vec<Value> {
        let Some(views) = self.tenants.get(tenant_id) else {
            return Vec::new();
        };
        let plays: Vec<&ViewRow> = play_rows(views, query, now_ms).collect();
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
            return Vec::new();
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
            .collect()
    }
}

/// The plays a mave query covers: views of the window and content with enough watched time and
/// the query's custom props.
fn play_rows<'a>(
    views: &'a TenantViews,
    query: &'a PlaysQuery,
    now_ms: i64,
) -> impl Iterator<Item = &'a ViewRow> + 'a {
    let (from, to) = match &query.timeframe {
        Timeframe::Last(span) => (span_before(*span, now_ms), None),
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
    // Props never seen in this tenant's views: nothing matches.
    let (props, none_match) = match views.prop_ids(&query.props) {
        Some(ids) => (ids, false),
        None => (Vec::new(), true),
    };
    let (lo, hi) = if none_match { (0, 0) } else { (lo, hi) };
    views
        .window(lo, hi, content)
        .filter(move |r| r.watched_ms >= minimum && views.has_props(r, &props))
}

/// mave's browser name of the UA parser's browser family, as an index into [`BROWSERS`].
pub(super) fn browser_of(browser: Option<&str>) -> usize {
    let name = match browser.unwrap_or("") {
        "Brave" => "brave",
        b if b == "Edge" || b.starts_with("Edge ") => "edge",
        b if b.starts_with("Opera") => "opera",
        "IE" | "IE Mobile" => "ie",
        b if b.starts_with("Firefox") => "firefox",
        b if b.starts_with("Chrome") || b == "Chromium" || b == "HeadlessChrome" => "chrome",
        b if b.contains("Safari") => "safari",
        _ => "other",
    };
    BROWSERS.iter().position(|n| *n == name).unwrap_or(0)
}

/// mave's device type, as an index into [`DEVICE_TYPES`].
pub(super) fn device_type_of(device_type: Option<&str>) -> usize {
    let name = match device_type.unwrap_or("") {
        d @ ("desktop" | "mobile" | "tablet") => d,
        _ => "other",
    };
    DEVICE_TYPES.iter().position(|n| *n == name).unwrap_or(0)
}

/// mave's platform of the UA parser's OS family, as an index into [`PLATFORMS`].
pub(super) fn platform_of(os: Option<&str>) -> usize {
    let name = match os.unwrap_or("") {
        "Android" => "android",
        "iOS" | "iPadOS" => "ios",
        "Mac OS X" | "macOS" => "mac",
        "Windows" => "windows",
        "Linux" | "Ubuntu" | "Debian" | "Fedora" | "Chrome OS" | "ChromeOS" => "linux",
        _ => "other",
    };
    PLATFORMS.iter().position(|n| *n == name).unwrap_or(0)
}

pub(super) const BROWSERS: [&str; 8] = [
    "brave", "chrome", "edge", "firefox", "ie", "opera", "other", "safari",
];
pub(super) const DEVICE_TYPES: [&str; 4] = ["desktop", "mobile", "other", "tablet"];
pub(super) const PLATFORMS: [&str; 6] = ["android", "ios", "linux", "mac", "other", "windows"];

/// The host of a source URL as `regexp_extract(url, '^[^:]+://([^/]+)', 1)` gives it: the text after
/// the first `://` up to the next `/`, when a scheme comes first; else empty.
pub(super) fn host_of(url: &str) -> &str {
    let Some(colon) = url.find(':') else {
        return "";
    };
    match url[colon..].strip_prefix("://") {
        Some(rest) if colon > 0 => rest.split('/').next().unwrap_or(""),
        _ => "",
    }
}
