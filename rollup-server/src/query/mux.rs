//! Mux Data's metrics over the in-memory views: each metric's value for one view, how a group of
//! views adds up, which time a metric counts a view by, and the breakdowns, time series and
//! insights of Mux's Data API (`api/mux.rs` shapes the answers). docs/api.md says each definition
//! in words; Mux's published definitions are the reference.
//!
//! Engagement metrics (views, unique viewers, playing time) count a view by when it started; the
//! quality-of-experience metrics by when it ended (its last event so far: a view still playing
//! moves forward with its events).

use super::time::bucket;
use super::views::{slot, TenantViews, ViewRow, NONE};
use super::ViewIndex;
use crate::query::params::{Dimension, TimeStep};
use rustc_hash::{FxHashMap, FxHashSet};

/// A view whose last event is older than this is over (no later event joins it: the next one
/// starts a new view, see `fold/view.rs`).
pub const VIEW_OVER_MS: i64 = crate::fold::view::VIEW_IDLE_MS;

/// A Mux metric that Tapemetric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Views,
    UniqueViewers,
    PlayingTime,
    VideoStartupTime,
    RebufferPercentage,
    RebufferFrequency,
    RebufferCount,
    RebufferDuration,
    PlaybackFailurePercentage,
    VideoStartupFailurePercentage,
    PlaybackBusinessExceptionPercentage,
    VideoStartupBusinessExceptionPercentage,
    ExitsBeforeVideoStart,
    ViewDroppedPercentage,
    SeekLatency,
    PlaybackSuccessScore,
    StartupTimeScore,
    SmoothnessScore,
}

/// How a metric's per-view values add up over a group of views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The number of views (`count`).
    Views,
    /// The number of distinct viewers (`count`).
    Viewers,
    /// Σ value / Σ weight over the views (`avg`): a rate, or a share of time.
    Ratio,
    /// A distribution of one value per view: `median`, `95th`, `avg`, `sum` or `count`.
    Distribution(Measurement),
}

/// A `measurement` of Mux's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measurement {
    P95,
    Median,
    Avg,
    Count,
    Sum,
}

impl Measurement {
    /// Parses Mux's names (`95th`, `median`, `avg`, `count`, `sum`).
    pub fn parse(name: &str) -> Result<Measurement, String> {
        Ok(match name {
            "95th" => Measurement::P95,
            "median" => Measurement::Median,
            "avg" => Measurement::Avg,
            "count" => Measurement::Count,
            "sum" => Measurement::Sum,
            _ => {
                return Err(format!(
                    "`measurement` must be one of 95th, median, avg, count, sum; got `{name}`"
                ))
            }
        })
    }

    /// Its name in Mux's answers.
    pub fn name(self) -> &'static str {
        match self {
            Measurement::P95 => "95th",
            Measurement::Median => "median",
            Measurement::Avg => "avg",
            Measurement::Count => "count",
            Measurement::Sum => "sum",
        }
    }
}

/// A view's contribution to a metric: `value` (a time, a count, 0 or 1 for a rate, a score), and
/// for a ratio the `weight` it is divided by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub weight: f64,
}

impl Sample {
    fn one(value: f64) -> Sample {
        Sample { value, weight: 1.0 }
    }

    fn flag(yes: bool) -> Sample {
        Sample::one(if yes { 1.0 } else { 0.0 })
    }
}

/// Mux's metric ids that Tapemetric does not measure (yet): asked for, they are refused by name
/// rather than answered with a wrong number.
pub const NOT_MEASURED: [&str; 33] = [
    "aggregate_startup_time",
    "downscale_percentage",
    "live_stream_latency",
    "max_downscale_percentage",
    "max_request_latency",
    "max_upscale_percentage",
    "page_load_time",
    "player_startup_time",
    "request_latency",
    "request_throughput",
    "requests_for_first_preroll",
    "upscale_percentage",
    "video_quality_score",
    "video_startup_preroll_load_time",
    "video_startup_preroll_request_time",
    "viewer_experience_score",
    "weighted_average_bitrate",
    "ad_attempt_count",
    "ad_break_count",
    "ad_break_error_count",
    "ad_break_error_percentage",
    "ad_error_count",
    "ad_error_percentage",
    "ad_exit_before_start_count",
    "ad_exit_before_start_percentage",
    "ad_impression_count",
    "ad_startup_error_count",
    "ad_startup_error_percentage",
    "view_content_startup_time",
    "ad_preroll_startup_time",
    "rendition_change_count",
    "rendition_upshift_count",
    "rendition_downshift_count",
];

impl Metric {
    /// Every metric, in the order Mux's metric list answers them.
    pub const ALL: [Metric; 18] = [
        Metric::Views,
        Metric::UniqueViewers,
        Metric::PlayingTime,
        Metric::VideoStartupTime,
        Metric::RebufferPercentage,
        Metric::RebufferFrequency,
        Metric::RebufferCount,
        Metric::RebufferDuration,
        Metric::PlaybackFailurePercentage,
        Metric::VideoStartupFailurePercentage,
        Metric::PlaybackBusinessExceptionPercentage,
        Metric::VideoStartupBusinessExceptionPercentage,
        Metric::ExitsBeforeVideoStart,
        Metric::ViewDroppedPercentage,
        Metric::SeekLatency,
        Metric::PlaybackSuccessScore,
        Metric::StartupTimeScore,
        Metric::SmoothnessScore,
    ];

    /// Its id in Mux's API.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Views => "views",
            Metric::UniqueViewers => "unique_viewers",
            Metric::PlayingTime => "playing_time",
            Metric::VideoStartupTime => "video_startup_time",
            Metric::RebufferPercentage => "rebuffer_percentage",
            Metric::RebufferFrequency => "rebuffer_frequency",
            Metric::RebufferCount => "rebuffer_count",
            Metric::RebufferDuration => "rebuffer_duration",
            Metric::PlaybackFailurePercentage => "playback_failure_percentage",
            Metric::VideoStartupFailurePercentage => "video_startup_failure_percentage",
            Metric::PlaybackBusinessExceptionPercentage => "playback_business_exception_percentage",
            Metric::VideoStartupBusinessExceptionPercentage => {
                "video_startup_business_exception_percentage"
            }
            Metric::SeekLatency => "seek_latency",
            Metric::ExitsBeforeVideoStart => "exits_before_video_start",
            Metric::ViewDroppedPercentage => "view_dropped_percentage",
            Metric::PlaybackSuccessScore => "playback_success_score",
            Metric::StartupTimeScore => "startup_time_score",
            Metric::SmoothnessScore => "rebuffer_score",
        }
    }

    /// Parses a Mux metric id (`smoothness_score` is `rebuffer_score`'s other name); the error says
    /// whether it is one Tapemetric does not measure or not Mux's at all.
    pub fn parse(id: &str) -> Result<Metric, String> {
        if id == "smoothness_score" {
            return Ok(Metric::SmoothnessScore);
        }
        if let Some(metric) = Metric::ALL.into_iter().find(|m| m.id() == id) {
            return Ok(metric);
        }
        let measured: Vec<&str> = Metric::ALL.iter().map(|m| m.id()).collect();
        if NOT_MEASURED.contains(&id) {
            Err(format!(
                "`{id}` is not measured by Tapemetric yet (its events are not collected); the measured metrics are {}",
                measured.join(", ")
            ))
        } else {
            Err(format!(
                "unknown metric `{id}`; the measured metrics are {}",
                measured.join(", ")
            ))
        }
    }

    /// How its views add up, with `measurement` if one is asked for (else the metric's default,
    /// as Mux's): the error says which measurements it takes.
    pub fn aggregate(self, measurement: Option<Measurement>) -> Result<Aggregate, String> {
        let fixed = |aggregate: Aggregate, name: &str| match measurement {
            None => Ok(aggregate),
            Some(m) if m.name() == name => Ok(aggregate),
            Some(m) => Err(format!(
                "`{}` is measured as `{name}` only; got `measurement={}`",
                self.id(),
                m.name()
            )),
        };
        match self {
            Metric::Views => fixed(Aggregate::Views, "count"),
            Metric::UniqueViewers => fixed(Aggregate::Viewers, "count"),
            Metric::RebufferPercentage
            | Metric::RebufferFrequency
            | Metric::PlaybackFailurePercentage
            | Metric::VideoStartupFailurePercentage
            | Metric::PlaybackBusinessExceptionPercentage
            | Metric::VideoStartupBusinessExceptionPercentage
            | Metric::ExitsBeforeVideoStart
            | Metric::ViewDroppedPercentage
            | Metric::SeekLatency => fixed(Aggregate::Ratio, "avg"),
            Metric::PlayingTime => Ok(Aggregate::Distribution(
                measurement.unwrap_or(Measurement::Sum),
            )),
            Metric::VideoStartupTime | Metric::RebufferCount | Metric::RebufferDuration => Ok(
                Aggregate::Distribution(measurement.unwrap_or(Measurement::Median)),
            ),
            Metric::PlaybackSuccessScore | Metric::StartupTimeScore | Metric::SmoothnessScore => {
                Ok(Aggregate::Distribution(
                    measurement.unwrap_or(Measurement::Avg),
                ))
            }
        }
    }

    /// Whether it counts a view by when the view ended (quality of experience) rather than started
    /// (engagement).
    pub fn by_view_end(self) -> bool {
        !matches!(
            self,
            Metric::Views | Metric::UniqueViewers | Metric::PlayingTime
        )
    }

    /// Whether a higher value is better (scores); for every other metric lower is better, but for
    /// the engagement ones, where neither is.
    pub fn higher_is_better(self) -> Option<bool> {
        match self {
            Metric::PlaybackSuccessScore | Metric::StartupTimeScore | Metric::SmoothnessScore => {
                Some(true)
            }
            Metric::Views | Metric::UniqueViewers | Metric::PlayingTime => None,
            _ => Some(false),
        }
    }

    /// Whether `metric_filters[]` may name it (Mux's exceptions).
    pub fn filterable(self) -> bool {
        !matches!(
            self,
            Metric::ExitsBeforeVideoStart
                | Metric::UniqueViewers
                | Metric::VideoStartupFailurePercentage
                | Metric::ViewDroppedPercentage
                | Metric::Views
        )
    }

    /// Its value for one view, or `None` when the view does not enter it (docs/api.md). `now_ms`
    /// decides which views are over.
    pub(super) fn sample(self, row: &ViewRow, now_ms: i64) -> Option<Sample> {
        let started = row.reached_first_frame;
        match self {
            Metric::Views | Metric::UniqueViewers => Some(Sample::one(1.0)),
            Metric::PlayingTime => Some(Sample::one(row.watched_ms as f64)),
            Metric::VideoStartupTime => startup_ms(row).map(|ms| Sample::one(ms as f64)),
            Metric::RebufferPercentage => started.then(|| Sample {
                value: row.rebuffer_ms as f64,
                weight: watch_time_ms(row) as f64,
            }),
            Metric::RebufferFrequency => started.then(|| Sample {
                value: row.qoe.rebuffer_count as f64 * 60_000.0,
                weight: watch_time_ms(row) as f64,
            }),
            Metric::RebufferCount => started.then(|| Sample::one(row.qoe.rebuffer_count as f64)),
            Metric::RebufferDuration => started.then(|| Sample::one(row.rebuffer_ms as f64)),
            Metric::PlaybackFailurePercentage => Some(Sample::flag(row.qoe.playback_failure)),
            Metric::VideoStartupFailurePercentage => {
                Some(Sample::flag(row.qoe.playback_failure && !started))
            }
            Metric::PlaybackBusinessExceptionPercentage => {
                Some(Sample::flag(row.qoe.business_exception))
            }
            Metric::VideoStartupBusinessExceptionPercentage => {
                Some(Sample::flag(row.qoe.business_exception && !started))
            }
            Metric::SeekLatency => (row.qoe.seek_count > 0).then_some(Sample {
                value: row.qoe.seek_ms as f64,
                weight: row.qoe.seek_count as f64,
            }),
            Metric::ExitsBeforeVideoStart => Some(Sample::flag(exited_before_start(row))),
            Metric::ViewDroppedPercentage => {
                (now_ms - row.last_ms > VIEW_OVER_MS).then(|| Sample::flag(!row.qoe.ended))
            }
            Metric::PlaybackSuccessScore => playback_success_score(row).map(Sample::one),
            Metric::StartupTimeScore => {
                startup_ms(row).map(|ms| Sample::one(startup_time_score(ms as f64 / 1000.0)))
            }
            Metric::SmoothnessScore => started.then(|| {
                Sample::one(smoothness_score(
                    row.qoe.rebuffer_count as f64,
                    row.rebuffer_ms as f64 / (watch_time_ms(row).max(1)) as f64,
                ))
            }),
        }
    }
}

/// Video startup time: play request to first frame, for a view that reached it.
fn startup_ms(row: &ViewRow) -> Option<i64> {
    row.ttff_ms.filter(|_| row.reached_first_frame)
}

/// Exit before video start: no first frame, and no failure.
fn exited_before_start(row: &ViewRow) -> bool {
    !row.reached_first_frame && !row.fatal_error
}

/// Watch time: from the play request on, startup, playing and stalls included; for a view that
/// never reached its first frame, the time it waited (to its last event).
pub(super) fn watch_time_ms(row: &ViewRow) -> i64 {
    match startup_ms(row) {
        Some(startup) => startup + row.watched_ms + row.rebuffer_ms,
        None if row.reached_first_frame => row.watched_ms + row.rebuffer_ms,
        None => (row.last_ms - row.started_ms).max(0),
    }
}

// Scores are fractions, as Mux's API answers them (its dashboard shows them times 100).

/// Playback Success: 0 for a playback failure, 1 for a view that played, 0.5 for an exit before
/// video start; none for a business exception before the first frame (not the viewer's
/// experience failing, nor an exit) or an exit within a second of the play request.
fn playback_success_score(row: &ViewRow) -> Option<f64> {
    if row.qoe.playback_failure {
        Some(0.0)
    } else if row.reached_first_frame {
        Some(1.0)
    } else if row.qoe.business_exception || row.last_ms - row.started_ms < 1_000 {
        None
    } else {
        Some(0.5)
    }
}

/// Startup Time score: `8 / (8 + s)` for a startup of `s` seconds.
pub fn startup_time_score(seconds: f64) -> f64 {
    8.0 / (8.0 + seconds)
}

/// Smoothness score: the mean of `1 / √(1 + (n/2)²)` for `n` stalls and `e^(−10·r)` for a
/// rebuffering share `r` of watch time.
pub fn smoothness_score(rebuffer_count: f64, rebuffer_share: f64) -> f64 {
    let by_count = 1.0 / (1.0 + (rebuffer_count / 2.0).powi(2)).sqrt();
    let by_share = (-10.0 * rebuffer_share).exp();
    (by_count + by_share) / 2.0
}

/// A `filters[]` entry: views whose `dimension` is (`include`) or is not `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub dimension: Dimension,
    pub value: String,
    pub include: bool,
}

/// A comparison of `metric_filters[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

/// A `metric_filters[]` entry: views whose own value of `metric` compares so with `value` (views
/// without a value of it are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFilter {
    pub metric: Metric,
    pub comparison: Comparison,
    pub value: f64,
}

impl MetricFilter {
    fn keeps(&self, row: &ViewRow, now_ms: i64) -> bool {
        let Some(sample) = self.metric.sample(row, now_ms) else {
            return false;
        };
        let x = if self.metric.aggregate(None) == Ok(Aggregate::Ratio) {
            sample.value / sample.weight
        } else {
            sample.value
        };
        match self.comparison {
            Comparison::Less => x < self.value,
            Comparison::LessOrEqual => x <= self.value,
            Comparison::Equal => x == self.value,
            Comparison::GreaterOrEqual => x >= self.value,
            Comparison::Greater => x > self.value,
        }
    }
}

/// Which views a Mux query covers: the timeframe `[from_ms, to_ms)` (by view start or end, as the
/// metric counts), the filters, and the moment it is asked.
#[derive(Debug, Clone, Default)]
pub struct MuxQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub now_ms: i64,
    pub filters: Vec<Filter>,
    pub metric_filters: Vec<MetricFilter>,
}

/// A time series' step (Mux's `group_by` of the timeseries route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Minute,
    TenMinutes,
    Hour,
    Day,
}

impl Granularity {
    /// Parses `minute`, `ten_minutes`, `hour`, `day`.
    pub fn parse(name: &str) -> Result<Granularity, String> {
        Ok(match name {
            "minute" => Granularity::Minute,
            "ten_minutes" => Granularity::TenMinutes,
            "hour" => Granularity::Hour,
            "day" => Granularity::Day,
            _ => {
                return Err(format!(
                    "`group_by` must be one of minute, ten_minutes, hour, day; got `{name}`"
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Granularity::Minute => "minute",
            Granularity::TenMinutes => "ten_minutes",
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    /// Its width in ms.
    pub fn ms(self) -> i64 {
        match self {
            Granularity::Minute => 60_000,
            Granularity::TenMinutes => 600_000,
            Granularity::Hour => 3_600_000,
            Granularity::Day => 86_400_000,
        }
    }

    /// The bucket (UTC) of `ms`.
    pub fn bucket(self, ms: i64) -> i64 {
        match self {
            Granularity::Day => bucket(TimeStep::Day, ms),
            _ => ms.div_euclid(self.ms()) * self.ms(),
        }
    }
}

/// How views are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    All,
    Dimension(Dimension),
    Time(Granularity),
}

/// What one group of views adds up to for a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupValue {
    /// The dimension's value (`None`: views without one), or the bucket's start (epoch ms).
    pub field: Option<String>,
    pub bucket_ms: Option<i64>,
    /// The metric's value; `None` when no view of the group has one.
    pub value: Option<f64>,
    /// Views with a value of the metric.
    pub views: i64,
    /// Their watch time and playing time, ms.
    pub watch_time_ms: i64,
    pub playing_time_ms: i64,
}

/// One group's views, as they add up.
#[derive(Default)]
struct Accumulator {
    views: i64,
    viewers: FxHashSet<u64>,
    value: f64,
    weight: f64,
    values: Vec<f64>,
    watch_time_ms: i64,
    playing_time_ms: i64,
}

impl Accumulator {
    fn add(&mut self, row: &ViewRow, sample: Sample, aggregate: Aggregate) {
        self.views += 1;
        self.watch_time_ms += watch_time_ms(row);
        self.playing_time_ms += row.watched_ms;
        match aggregate {
            Aggregate::Views => {}
            Aggregate::Viewers => {
                if let Some(viewer) = row.viewer_key {
                    self.viewers.insert(viewer);
                }
            }
            Aggregate::Ratio => {
                self.value += sample.value;
                self.weight += sample.weight;
            }
            Aggregate::Distribution(Measurement::Avg | Measurement::Sum | Measurement::Count) => {
                self.value += sample.value;
            }
            Aggregate::Distribution(Measurement::Median | Measurement::P95) => {
                self.values.push(sample.value)
            }
        }
    }

    fn value(&mut self, aggregate: Aggregate) -> Option<f64> {
        if self.views == 0 {
            return None;
        }
        match aggregate {
            Aggregate::Views => Some(self.views as f64),
            Aggregate::Viewers => Some(self.viewers.len() as f64),
            Aggregate::Ratio => Some(if self.weight > 0.0 {
                self.value / self.weight
            } else {
                0.0
            }),
            Aggregate::Distribution(Measurement::Avg) => Some(self.value / self.views as f64),
            Aggregate::Distribution(Measurement::Sum) => Some(self.value),
            Aggregate::Distribution(Measurement::Count) => Some(self.views as f64),
            Aggregate::Distribution(Measurement::Median) => quantile(&mut self.values, 0.5),
            Aggregate::Distribution(Measurement::P95) => quantile(&mut self.values, 0.95),
        }
    }
}

/// The value at position (n − 1)·q of the sorted values, interpolated linearly between neighbours.
fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    values.sort_unstable_by(f64::total_cmp);
    let position = last as f64 * q;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let d = position - below as f64;
    Some(values[below] * (1.0 - d) + values[above.min(last)] * d)
}

impl ViewIndex {
    /// `metric` over the views of `query`, grouped. Groups come in no particular order; a group
    /// with no view of a value is left out.
    pub fn mux_groups(
        &self,
        tenant_id: &str,
        metric: Metric,
        aggregate: Aggregate,
        query: &MuxQuery,
        grouping: Grouping,
    ) -> Vec<GroupValue> {
        self.mux_groupings(tenant_id, metric, aggregate, query, &[grouping])
            .pop()
            .unwrap_or_default()
    }

    /// [`ViewIndex::mux_groups`] for each of `groupings`, reading the views once.
    pub fn mux_groupings(
        &self,
        tenant_id: &str,
        metric: Metric,
        aggregate: Aggregate,
        query: &MuxQuery,
        groupings: &[Grouping],
    ) -> Vec<Vec<GroupValue>> {
        match self.tenants.get(tenant_id) {
            Some(views) => groups(views, metric, aggregate, query, groupings),
            None => groupings.iter().map(|_| Vec::new()).collect(),
        }
    }

    /// The values of `dimension` among the views started in `query`'s timeframe, with how many
    /// views have each, most first.
    pub fn mux_dimension_values(
        &self,
        tenant_id: &str,
        dimension: Dimension,
        query: &MuxQuery,
    ) -> Vec<(String, i64)> {
        let mut rows = self.mux_groups(
            tenant_id,
            Metric::Views,
            Aggregate::Views,
            query,
            Grouping::Dimension(dimension),
        );
        rows.retain(|g| g.field.is_some());
        rows.sort_by(|a, b| b.views.cmp(&a.views).then_with(|| a.field.cmp(&b.field)));
        rows.into_iter()
            .filter_map(|g| Some((g.field?, g.views)))
            .collect()
    }
}

/// `metric` over the views of `query`, once per grouping, in one pass over the views.
fn groups(
    views: &TenantViews,
    metric: Metric,
    aggregate: Aggregate,
    query: &MuxQuery,
    groupings: &[Grouping],
) -> Vec<Vec<GroupValue>> {
    // Rows are sorted by start; a view that ended in the window started at most the longest view
    // before it.
    let by_end = metric.by_view_end();
    let first_start = if by_end {
        query.from_ms.saturating_sub(views.longest_ms)
    } else {
        query.from_ms
    };
    let lo = views.rows.partition_point(|r| r.started_ms < first_start);
    let hi = views.rows.partition_point(|r| r.started_ms < query.to_ms);
    // Filters as dictionary ids: included values per dimension (any of them), excluded values.
    let mut include: Vec<(usize, Vec<u32>)> = Vec::new();
    let mut exclude: Vec<(usize, u32)> = Vec::new();
    for filter in &query.filters {
        let id = views
            .ids
            .get(filter.value.as_str())
            .copied()
            .unwrap_or(NONE);
        let at = slot(filter.dimension);
        if filter.include {
            match include.iter_mut().find(|(s, _)| *s == at) {
                Some((_, ids)) => ids.push(id),
                None => include.push((at, vec![id])),
            }
        } else if id != NONE {
            exclude.push((at, id));
        }
    }
    let mut all: Vec<FxHashMap<i64, Accumulator>> =
        groupings.iter().map(|_| FxHashMap::default()).collect();
    for row in views.rows.get(lo..hi.max(lo)).unwrap_or_default() {
        let at = if by_end { row.last_ms } else { row.started_ms };
        if at < query.from_ms || at >= query.to_ms {
            continue;
        }
        if include.iter().any(|(s, ids)| !ids.contains(&row.dims[*s]))
            || exclude.iter().any(|(s, id)| row.dims[*s] == *id)
            || !query
                .metric_filters
                .iter()
                .all(|f| f.keeps(row, query.now_ms))
        {
            continue;
        }
        let Some(sample) = metric.sample(row, query.now_ms) else {
            continue;
        };
        for (grouping, groups) in groupings.iter().zip(all.iter_mut()) {
            let key = match grouping {
                Grouping::All => 0,
                Grouping::Dimension(d) => i64::from(row.dims[slot(*d)]),
                Grouping::Time(granularity) => granularity.bucket(at),
            };
            groups.entry(key).or_default().add(row, sample, aggregate);
        }
    }
    groupings
        .iter()
        .zip(all)
        .map(|(grouping, groups)| {
            groups
                .into_iter()
                .map(|(key, mut group)| GroupValue {
                    field: match grouping {
                        Grouping::Dimension(_) => views.value(key as u32).map(str::to_owned),
                        _ => None,
                    },
                    bucket_ms: matches!(grouping, Grouping::Time(_)).then_some(key),
                    value: group.value(aggregate),
                    views: group.views,
                    watch_time_ms: group.watch_time_ms,
                    playing_time_ms: group.playing_time_ms,
                })
                .collect()
        })
        .collect()
}

/// Negative impact of a group on a metric: how much better the metric would be over all views
/// without the group's views, `(value − overall) × views / total views`, signed so that a larger
/// impact is always worse (for metrics where neither direction is worse, the group's share of
/// views). Mux ranks breakdown rows by it; its own formula is not published.
pub fn negative_impact(metric: Metric, group: &GroupValue, overall: &GroupValue) -> f64 {
    let (Some(value), Some(all)) = (group.value, overall.value) else {
        return 0.0;
    };
    let share = group.views as f64 / overall.views.max(1) as f64;
    match metric.higher_is_better() {
        Some(true) => (all - value) * share,
        Some(false) => (value - all) * share,
        None => share,
    }
}
