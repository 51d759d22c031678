//! Expected answers computed from the generator's truth with plain Rust (no SQL, no server code): the
//! metric definitions of docs/api.md, applied to [`TruthView`]s.

use crate::user_agents::UserAgent;
use crate::TruthView;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// A breakdown dimension, by its API name.
pub const DIMENSIONS: [&str; 14] = [
    "playbackId",
    "contentType",
    "browser",
    "browserEngine",
    "os",
    "deviceType",
    "device",
    "continent",
    "country",
    "subdivision",
    "timezone",
    "viewerId",
    "source",
    "playerName",
];

/// The value of a dimension for a view (None: unknown, left out of answers).
pub fn dimension(view: &TruthView, name: &str) -> Option<String> {
    let v = match name {
        "playbackId" | "contentId" => view.content_id.clone(),
        "contentType" => view.content_type.to_string(),
        "browser" => return view.ua.browser.map(str::to_string),
        "browserEngine" => return browser_engine(view.ua).map(str::to_string),
        "os" => return view.ua.os.map(str::to_string),
        "deviceType" => view.ua.device_type.to_string(),
        "device" => {
            return view
                .ua
                .device_model
                .or(view.ua.device_brand)
                .map(str::to_string)
        }
        "continent" => view.place.continent.to_string(),
        "country" => view.place.country.to_string(),
        "subdivision" => view.place.subdivision.to_string(),
        "timezone" => view.place.timezone.to_string(),
        "viewerId" => view.viewer_id.clone(),
        "source" => view.source.clone(),
        "playerName" => view.player_name.to_string(),
        _ => return None,
    };
    Some(v)
}

/// The rendering engine of a UA (docs/api.md: Blink, Gecko, WebKit where known): every browser on
/// iOS is WebKit; else the engine of the browser families the dashboards know, None for the others.
/// The list restates rollup-server's on purpose: the truth never calls the server's code.
pub fn browser_engine(ua: &UserAgent) -> Option<&'static str> {
    if ua.os == Some("iOS") {
        return Some("WebKit");
    }
    Some(match ua.browser? {
        "Safari" | "Mobile Safari" | "Mobile Safari UI/WKWebView" => "WebKit",
        "Firefox" | "Firefox Mobile" | "Firefox iOS" => "Gecko",
        "Chrome"
        | "Chrome Mobile"
        | "Chrome Mobile WebView"
        | "Chromium"
        | "Edge"
        | "Opera"
        | "Samsung Internet"
        | "Brave"
        | "Vivaldi"
        | "Yandex Browser"
        | "HeadlessChrome" => "Blink",
        _ => return None,
    })
}

/// mave's browser name (brave, chrome, edge, firefox, ie, opera, safari, else other).
pub fn mave_browser(ua: &UserAgent) -> &'static str {
    match ua.browser {
        Some("Brave") => "brave",
        Some(b) if b == "Edge" || b.starts_with("Edge ") => "edge",
        Some(b) if b.starts_with("Opera") => "opera",
        Some("IE" | "IE Mobile") => "ie",
        Some(b) if b.starts_with("Firefox") => "firefox",
        Some(b) if b.starts_with("Chrome") || b == "Chromium" || b == "HeadlessChrome" => "chrome",
        Some(b) if b.contains("Safari") => "safari",
        _ => "other",
    }
}

/// mave's device type (desktop, mobile, tablet, else other).
pub fn mave_device_type(ua: &UserAgent) -> &'static str {
    match ua.device_type {
        "desktop" => "desktop",
        "mobile" => "mobile",
        "tablet" => "tablet",
        _ => "other",
    }
}

/// mave's platform (android, ios, linux, mac, windows, else other).
pub fn mave_platform(ua: &UserAgent) -> &'static str {
    match ua.os {
        Some("Android") => "android",
        Some("iOS" | "iPadOS") => "ios",
        Some("Mac OS X" | "macOS") => "mac",
        Some("Windows") => "windows",
        Some("Linux" | "Ubuntu" | "Debian" | "Fedora" | "Chrome OS" | "ChromeOS") => "linux",
        _ => "other",
    }
}

/// Livepeer-style metrics of a group of views.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub view_count: i64,
    pub unique_viewers: i64,
    pub playtime_mins: f64,
    pub ttff_ms: Option<f64>,
    pub ttff_p95_ms: Option<f64>,
    pub rebuffer_ratio: f64,
    pub error_rate: f64,
    pub exits_before_start: f64,
}

/// A continuous quantile with linear interpolation between the closest ranks.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let position = q * (values.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (position - lo as f64))
}

/// The metrics of `views`, per docs/api.md.
pub fn metrics(views: &[&TruthView]) -> Metrics {
    let n = views.len() as f64;
    let viewers: BTreeSet<&str> = views.iter().map(|v| v.viewer_id.as_str()).collect();
    let watched: i64 = views.iter().map(|v| v.watched_ms).sum();
    let rebuffer: i64 = views.iter().map(|v| v.rebuffer_ms).sum();
    let mut ttffs: Vec<f64> = views
        .iter()
        .filter(|v| v.reached_first_frame)
        .filter_map(|v| v.ttff_ms.map(|t| t as f64))
        .collect();
    Metrics {
        view_count: views.len() as i64,
        unique_viewers: viewers.len() as i64,
        playtime_mins: watched as f64 / 60_000.0,
        ttff_ms: quantile(&mut ttffs, 0.5),
        ttff_p95_ms: quantile(&mut ttffs, 0.95),
        rebuffer_ratio: if watched + rebuffer > 0 {
            rebuffer as f64 / (watched + rebuffer) as f64
        } else {
            0.0
        },
        error_rate: views.iter().filter(|v| v.fatal_error).count() as f64 / n,
        exits_before_start: views
            .iter()
            .filter(|v| !v.reached_first_frame && !v.fatal_error)
            .count() as f64
            / n,
    }
}

/// A time step of the Livepeer API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Step {
    /// Every step with its API name.
    pub const ALL: [(&'static str, Step); 5] = [
        ("hour", Step::Hour),
        ("day", Step::Day),
        ("week", Step::Week),
        ("month", Step::Month),
        ("year", Step::Year),
    ];

    /// The start (epoch ms, UTC) of the bucket holding `ms`; weeks start on Monday.
    pub fn bucket(self, ms: i64) -> i64 {
        let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let day_start = t.replace_time(time::Time::MIDNIGHT);
        let start = match self {
            Step::Hour => {
                t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
            }
            Step::Day => day_start,
            Step::Week => {
                day_start - time::Duration::days(i64::from(t.weekday().number_days_from_monday()))
            }
            Step::Month => day_start.replace_day(1).unwrap_or(day_start),
            Step::Year => day_start
                .replace_day(1)
                .and_then(|d| d.replace_month(time::Month::January))
                .unwrap_or(day_start),
        };
        start.unix_timestamp() * 1000
    }
}

/// mave's label of the 1-day interval holding `ms` (`2026-11-25T00:00:00.000000`).
pub fn day_label(ms: i64) -> String {
    let day = OffsetDateTime::from_unix_timestamp(Step::Day.bucket(ms) / 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{}T00:00:00.000000", day.date())
}

/// Epoch ms as an RFC 3339 UTC time to the second (`2026-11-25T00:00:00Z`).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A group key: the breakdown values (None = unknown) and the bucket start if stepped.
pub type GroupKey = (Vec<Option<String>>, Option<i64>);

/// Views grouped by `dimensions` and `step`, keeping those that pass `keep`.
pub fn grouped<'a>(
    views: &'a [TruthView],
    dimensions: &[&str],
    step: Option<Step>,
    keep: &dyn Fn(&TruthView) -> bool,
) -> BTreeMap<GroupKey, Vec<&'a TruthView>> {
    let mut groups: BTreeMap<GroupKey, Vec<&TruthView>> = BTreeMap::new();
    for view in views.iter().filter(|v| keep(v)) {
        let key = (
            dimensions.iter().map(|d| dimension(view, d)).collect(),
            step.map(|s| s.bucket(view.started_ms)),
        );
        groups.entry(key).or_default().push(view);
    }
    groups
}

/// Plays (views with at least `minimum_watch_ms` watched) that pass `keep`.
pub fn plays<'a>(
    views: &'a [TruthView],
    minimum_watch_ms: i64,
    keep: &dyn Fn(&TruthView) -> bool,
) -> Vec<&'a TruthView> {
    views
        .iter()
        .filter(|v| v.watched_ms >= minimum_watch_ms && keep(v))
        .collect()
}

/// Per engagement range `[i*L/n, (i+1)*L/n)` of the timeline length `L` (the longest duration among
/// the plays), the plays that played any part of it.
pub fn engagement(plays: &[&TruthView], ranges: u32) -> Vec<(f64, f64, i64)> {
    let length = plays.iter().map(|v| v.duration_s).fold(0.0, f64::max);
    (0..ranges)
        .map(|i| {
            let from = f64::from(i) * length / f64::from(ranges);
            let to = f64::from(i + 1) * length / f64::from(ranges);
            let viewers = plays
                .iter()
                .filter(|v| v.played.iter().any(|r| r[0] < to && r[1] > from))
                .count() as i64;
            (from, to, viewers)
        })
        .collect()
}

/// Mux's dimension names with the API dimension each one is (docs/api.md, Mux Data API).
pub const MUX_DIMENSIONS: [(&str, &str); 11] = [
    ("browser", "browser"),
    ("continent_code", "continent"),
    ("operating_system", "os"),
    ("player_name", "playerName"),
    ("video_content_type", "contentType"),
    ("video_id", "playbackId"),
    ("viewer_device_category", "deviceType"),
    ("country", "country"),
    ("page_url", "source"),
    ("region", "subdivision"),
    ("viewer_device_model", "device"),
];

/// Mux's metrics that Tapemetric measures, each with its default measurement.
pub const MUX_METRICS: [(&str, &str); 18] = [
    ("views", "count"),
    ("unique_viewers", "count"),
    ("playing_time", "sum"),
    ("video_startup_time", "median"),
    ("rebuffer_percentage", "avg"),
    ("rebuffer_frequency", "avg"),
    ("rebuffer_count", "median"),
    ("rebuffer_duration", "median"),
    ("playback_failure_percentage", "avg"),
    ("video_startup_failure_percentage", "avg"),
    ("playback_business_exception_percentage", "avg"),
    ("video_startup_business_exception_percentage", "avg"),
    ("seek_latency", "avg"),
    ("exits_before_video_start", "avg"),
    ("view_dropped_percentage", "avg"),
    ("playback_success_score", "avg"),
    ("startup_time_score", "avg"),
    ("rebuffer_score", "avg"),
];

/// Whether a Mux metric counts a view by its end (quality of experience) rather than its start.
pub fn mux_by_end(metric: &str) -> bool {
    !matches!(metric, "views" | "unique_viewers" | "playing_time")
}

/// A view's watch time (docs/api.md): startup, playing and stalls; for a view that never showed a
/// frame, the time from the play request to its last event.
pub fn watch_time_ms(v: &TruthView) -> i64 {
    if v.reached_first_frame {
        v.ttff_ms.unwrap_or(0) + v.watched_ms + v.rebuffer_ms
    } else {
        v.last_ms - v.started_ms
    }
}

/// A view's own value of a metric, if it has one.
type PerView = Box<dyn Fn(&TruthView) -> Option<f64>>;

/// A Mux metric over `views` (those it counts, by start or end, already chosen) with a
/// measurement: the value, and how many views have one. `now_ms` decides which views are over.
pub fn mux_metric(
    views: &[&TruthView],
    metric: &str,
    measurement: &str,
    now_ms: i64,
) -> (Option<f64>, i64) {
    // Ratios: (numerator, denominator) per view that has the metric.
    let ratio = |f: &dyn Fn(&TruthView) -> Option<(f64, f64)>| {
        let parts: Vec<(f64, f64)> = views.iter().filter_map(|v| f(v)).collect();
        let n = parts.len() as i64;
        let (num, den) = parts
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let value = (n > 0).then(|| if den > 0.0 { num / den } else { 0.0 });
        (value, n)
    };
    let flag = |f: &dyn Fn(&TruthView) -> bool| ratio(&|v| Some((f64::from(u8::from(f(v))), 1.0)));
    let played = |v: &TruthView| v.reached_first_frame;
    let per_view: PerView = match metric {
        "views" => return (Some(views.len() as f64), views.len() as i64),
        "unique_viewers" => {
            let viewers: BTreeSet<&str> = views.iter().map(|v| v.viewer_id.as_str()).collect();
            return (Some(viewers.len() as f64), views.len() as i64);
        }
        "rebuffer_percentage" => {
            return ratio(&|v| played(v).then(|| (v.rebuffer_ms as f64, watch_time_ms(v) as f64)))
        }
        "rebuffer_frequency" => {
            return ratio(&|v| {
                played(v).then(|| (v.rebuffer_count as f64 * 60_000.0, watch_time_ms(v) as f64))
            })
        }
        "playback_failure_percentage" => return flag(&|v| v.playback_failure),
        "video_startup_failure_percentage" => {
            return flag(&|v| v.playback_failure && !v.reached_first_frame)
        }
        "playback_business_exception_percentage" => return flag(&|v| v.business_exception),
        "video_startup_business_exception_percentage" => {
            return flag(&|v| v.business_exception && !v.reached_first_frame)
        }
        "seek_latency" => {
            return ratio(&|v| {
                (v.seek_count > 0).then_some((v.seek_ms as f64, v.seek_count as f64))
            })
        }
        "exits_before_video_start" => return flag(&|v| !v.fatal_error && !v.reached_first_frame),
        "view_dropped_percentage" => {
            return ratio(&|v| {
                (now_ms - v.last_ms > 30 * 60_000).then(|| (f64::from(u8::from(!v.ended)), 1.0))
            })
        }
        "playing_time" => Box::new(|v| Some(v.watched_ms as f64)),
        "video_startup_time" => Box::new(|v| {
            v.ttff_ms
                .filter(|_| v.reached_first_frame)
                .map(|t| t as f64)
        }),
        "rebuffer_count" => Box::new(move |v| played(v).then_some(v.rebuffer_count as f64)),
        "rebuffer_duration" => Box::new(move |v| played(v).then_some(v.rebuffer_ms as f64)),
        "playback_success_score" => Box::new(|v| {
            if v.playback_failure {
                Some(0.0)
            } else if v.reached_first_frame {
                Some(1.0)
            } else if !v.business_exception && v.last_ms - v.started_ms >= 1_000 {
                Some(0.5)
            } else {
                None
            }
        }),
        "startup_time_score" => Box::new(|v| {
            let ms = v.ttff_ms.filter(|_| v.reached_first_frame)?;
            Some(8.0 / (8.0 + ms as f64 / 1000.0))
        }),
        "rebuffer_score" => Box::new(move |v| {
            if !played(v) {
                return None;
            }
            let n = v.rebuffer_count as f64;
            let share = v.rebuffer_ms as f64 / watch_time_ms(v).max(1) as f64;
            Some((1.0 / (1.0 + n * n / 4.0).sqrt() + (-10.0 * share).exp()) / 2.0)
        }),
        other => panic!("no expectation for Mux metric {other}"),
    };
    let mut values: Vec<f64> = views.iter().filter_map(|v| per_view(v)).collect();
    let n = values.len() as i64;
    let value = match measurement {
        "sum" => (n > 0).then(|| values.iter().sum()),
        "count" => (n > 0).then_some(n as f64),
        "avg" => (n > 0).then(|| values.iter().sum::<f64>() / n as f64),
        "median" => quantile(&mut values, 0.5),
        "95th" => quantile(&mut values, 0.95),
        other => panic!("no measurement {other}"),
    };
    (value, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_the_textbook() {
        assert_eq!(quantile(&mut [1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&mut [10.0], 0.95), Some(10.0));
        assert_eq!(quantile(&mut [0.0, 100.0], 0.95), Some(95.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn buckets_start_at_calendar_boundaries() {
        // 2026-11-25T13:45:10Z, a Wednesday.
        let t = 1_795_614_310_000;
        assert_eq!(Step::Hour.bucket(t), 1_795_611_600_000);
        assert_eq!(Step::Day.bucket(t), 1_795_564_800_000);
        assert_eq!(Step::Week.bucket(t), 1_795_392_000_000); // Monday 2026-11-23
        assert_eq!(Step::Month.bucket(t), 1_793_491_200_000); // 2026-11-01
        assert_eq!(Step::Year.bucket(t), 1_767_225_600_000); // 2026-01-01
    }
}
