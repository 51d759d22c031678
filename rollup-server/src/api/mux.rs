//! Mux Data's API (`/data/v1/...`), so that the official `@mux/mux-node` client given this server as
//! `baseURL` and a Tapemetric JWT as `authorizationToken` works unchanged: the metrics family
//! (overall values, breakdowns, time series, insights, every metric of one dimension value) and the
//! dimensions with their values. Parameters and answer shapes are Mux's (`timeframe[]`,
//! `filters[]`, `metric_filters[]`, `measurement`, `group_by`, `order_by`, `order_direction`,
//! `page`, `limit`); units are Mux's: ms for times, fractions for percentages, 0-100 scores. The
//! tenant comes from the token only. Errors answer Mux's shape, `{"error": {"type", "messages"}}`.

use super::{ApiError, AppState, Auth};
use crate::clock::now_ms;
use crate::query::mux::{
    negative_impact, Aggregate, Comparison, Filter, Granularity, GroupValue, Grouping, Measurement,
    Metric, MetricFilter, MuxQuery,
};
use crate::query::params::{number, Dimension};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Mux's dimension names for Tapemetric's dimensions: those Mux calls basic first, then its
/// advanced ones.
pub const DIMENSIONS: [(&str, Dimension); 11] = [
    ("browser", Dimension::Browser),
    ("continent_code", Dimension::Continent),
    ("operating_system", Dimension::Os),
    ("player_name", Dimension::PlayerName),
    ("video_content_type", Dimension::ContentType),
    ("video_id", Dimension::ContentId),
    ("viewer_device_category", Dimension::DeviceType),
    ("country", Dimension::Country),
    ("page_url", Dimension::Source),
    ("region", Dimension::Subdivision),
    ("viewer_device_model", Dimension::Device),
];

/// How many of [`DIMENSIONS`] Mux calls basic.
const BASIC_DIMENSIONS: usize = 7;
/// The most rows a page may hold, and how many when `limit` is not given.
const MAX_LIMIT: usize = 10_000;
const DEFAULT_LIMIT: usize = 25;
/// The timeframe when none is given: the last 24 hours.
const DEFAULT_TIMEFRAME_MS: i64 = 24 * 3_600_000;
/// The longest timeframe (ten years): a larger one is a mistake, answered as such.
const MAX_TIMEFRAME_MS: i64 = 10 * 366 * 86_400_000;

/// An [`ApiError`] in Mux's shape.
pub struct MuxError(ApiError);

impl From<ApiError> for MuxError {
    fn from(e: ApiError) -> MuxError {
        MuxError(e)
    }
}

impl IntoResponse for MuxError {
    fn into_response(self) -> Response {
        let message = self.0.message().to_string();
        let mut response = self.0.into_response();
        let status = response.status();
        let kind = match status {
            StatusCode::BAD_REQUEST => "invalid_parameters",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            _ => "server_error",
        };
        *response.body_mut() = axum::body::Body::from(
            json!({"error": {"type": kind, "messages": [message]}}).to_string(),
        );
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_LENGTH);
        response
    }
}

fn bad(message: impl Into<String>) -> MuxError {
    MuxError(ApiError::bad_request(message))
}

/// Parses a Mux dimension name; the error lists the ones Tapemetric has.
pub fn parse_dimension(parameter: &str, name: &str) -> Result<Dimension, MuxError> {
    DIMENSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            let names: Vec<&str> = DIMENSIONS.iter().map(|(n, _)| *n).collect();
            bad(format!(
                "`{parameter}`: unknown dimension `{name}`; Tapemetric has {}",
                names.join(", ")
            ))
        })
}

/// A request's parameters, parsed.
#[derive(Default)]
struct Params {
    query: MuxQuery,
    measurement: Option<Measurement>,
    group_by: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    page: usize,
    limit: usize,
    dimension: Option<Dimension>,
    value: Option<String>,
}

impl Params {
    fn timeframe_s(&self) -> Value {
        json!([self.query.from_ms / 1000, self.query.to_ms / 1000])
    }
}

/// Parses `timeframe[]` values: two epoch-second instants, or one `<n>:<unit>` span before now.
fn timeframe(values: &[String], now: i64) -> Result<(i64, i64), MuxError> {
    let window = match values {
        [] => (now - DEFAULT_TIMEFRAME_MS, now),
        [span] => {
            let (count, unit) = span.split_once(':').ok_or_else(|| {
                bad(format!("`timeframe[]` must be two epoch seconds or a span like `24:hours`; got `{span}`"))
            })?;
            let count: i64 = count.parse().ok().filter(|c| *c > 0).ok_or_else(|| {
                bad(format!(
                    "`timeframe[]`: `{count}` is not a positive whole number"
                ))
            })?;
            let unit_ms = match unit {
                "minute" | "minutes" => 60_000,
                "hour" | "hours" => 3_600_000,
                "day" | "days" => 86_400_000,
                "week" | "weeks" => 7 * 86_400_000,
                _ => {
                    return Err(bad(format!(
                    "`timeframe[]`: the unit must be minutes, hours, days or weeks; got `{unit}`"
                )))
                }
            };
            (now - count.saturating_mul(unit_ms), now)
        }
        [from, to] => {
            let instant = |text: &str| {
                text.parse::<i64>()
                    .map(|s| s.saturating_mul(1000))
                    .map_err(|_| {
                        bad(format!(
                            "`timeframe[]` instants must be epoch seconds; got `{text}`"
                        ))
                    })
            };
            (instant(from)?, instant(to)?)
        }
        _ => {
            return Err(bad(
                "`timeframe[]` takes two epoch seconds or one span like `24:hours`",
            ))
        }
    };
    if window.0 >= window.1 {
        return Err(bad("`timeframe[]`: the start must be before the end"));
    }
    if window.1 - window.0 > MAX_TIMEFRAME_MS {
        return Err(bad("`timeframe[]` may span at most ten years"));
    }
    Ok(window)
}

/// Parses `dim:value` or `!dim:value`.
fn filter(text: &str) -> Result<Filter, MuxError> {
    let (include, rest) = match text.strip_prefix('!') {
        Some(rest) => (false, rest),
        None => (true, text),
    };
    if rest.starts_with(['+', '-']) {
        return Err(bad(format!(
            "`filters[]`: Tapemetric has no trace dimensions (`+dim:value`, `-dim:value`); got `{text}`"
        )));
    }
    let (name, value) = rest.split_once(':').ok_or_else(|| {
        bad(format!(
            "`filters[]` must look like `country:US` or `!country:US`; got `{text}`"
        ))
    })?;
    Ok(Filter {
        dimension: parse_dimension("filters[]", name)?,
        value: value.to_string(),
        include,
    })
}

/// Parses `metric>=number` (also `<=`, `<`, `>`, `=`).
fn metric_filter(text: &str) -> Result<MetricFilter, MuxError> {
    let at = text.find(['<', '>', '=']).ok_or_else(|| {
        bad(format!(
            "`metric_filters[]` must look like `video_startup_time>=1000`; got `{text}`"
        ))
    })?;
    let (name, rest) = text.split_at(at);
    let (comparison, number) = [
        ("<=", Comparison::LessOrEqual),
        (">=", Comparison::GreaterOrEqual),
        ("<", Comparison::Less),
        (">", Comparison::Greater),
        ("=", Comparison::Equal),
    ]
    .into_iter()
    .find_map(|(op, c)| rest.strip_prefix(op).map(|n| (c, n)))
    .ok_or_else(|| {
        bad(format!(
            "`metric_filters[]`: unknown comparison in `{text}`"
        ))
    })?;
    let metric = Metric::parse(name).map_err(|e| bad(format!("`metric_filters[]`: {e}")))?;
    if !metric.filterable() {
        return Err(bad(format!(
            "`metric_filters[]`: `{name}` cannot filter views (Mux's exceptions: exits_before_video_start, unique_viewers, video_startup_failure_percentage, view_dropped_percentage, views)"
        )));
    }
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad(format!("`metric_filters[]`: `{number}` is not a number")))?;
    Ok(MetricFilter {
        metric,
        comparison,
        value,
    })
}

/// Reads Mux's query string; `allowed` are the parameters this route takes besides the common
/// ones (`timeframe[]`, `filters[]`, `metric_filters[]`).
fn params(raw: Option<&str>, allowed: &[&str]) -> Result<Params, MuxError> {
    let mut out = Params {
        limit: DEFAULT_LIMIT,
        page: 1,
        ..Params::default()
    };
    let now = now_ms();
    let mut timeframes = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let name = name.as_ref();
        let value = value.into_owned();
        if !["timeframe[]", "filters[]", "metric_filters[]"].contains(&name)
            && !allowed.contains(&name)
        {
            let mut known = vec!["timeframe[]", "filters[]", "metric_filters[]"];
            known.extend_from_slice(allowed);
            return Err(bad(format!(
                "unknown parameter `{name}`; this route takes {}",
                known.join(", ")
            )));
        }
        match name {
            "timeframe[]" => timeframes.push(value),
            "filters[]" => out.query.filters.push(filter(&value)?),
            "metric_filters[]" => out.query.metric_filters.push(metric_filter(&value)?),
            "measurement" => out.measurement = Some(Measurement::parse(&value).map_err(bad)?),
            "group_by" => out.group_by = Some(value),
            "order_by" => {
                if !["negative_impact", "value", "views", "field"].contains(&value.as_str()) {
                    return Err(bad(format!(
                        "`order_by` must be one of negative_impact, value, views, field; got `{value}`"
                    )));
                }
                out.order_by = Some(value)
            }
            "order_direction" => {
                out.descending = Some(match value.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => {
                        return Err(bad(format!(
                            "`order_direction` must be asc or desc; got `{value}`"
                        )))
                    }
                })
            }
            "page" | "limit" => {
                let n: usize = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad(format!(
                        "`{name}` must be a whole number from 1; got `{value}`"
                    ))
                })?;
                if name == "page" {
                    out.page = n;
                } else if n > MAX_LIMIT {
                    return Err(bad(format!("`limit` may be at most {MAX_LIMIT}; got {n}")));
                } else {
                    out.limit = n;
                }
            }
            "dimension" => out.dimension = Some(parse_dimension("dimension", &value)?),
            "value" => out.value = Some(value),
            _ => {}
        }
    }
    let (from_ms, to_ms) = timeframe(&timeframes, now)?;
    out.query.from_ms = from_ms;
    out.query.to_ms = to_ms;
    out.query.now_ms = now;
    Ok(out)
}

/// A metric route's request: the path's metric, the parameters (`allowed` as [`params`]), and
/// how its views add up with the asked measurement.
fn metric_request(
    id: &str,
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<(Metric, Params, Aggregate), MuxError> {
    let metric = Metric::parse(id).map_err(bad)?;
    let p = params(raw, allowed)?;
    let aggregate = metric.aggregate(p.measurement).map_err(bad)?;
    Ok((metric, p, aggregate))
}

/// The `meta` of a metric's answer: which time of a view it counts by (Mux's `aggregation`),
/// and the step of a time series.
fn meta(metric: Metric, granularity: Option<Granularity>) -> Value {
    let aggregation = if metric.by_view_end() {
        "view_end"
    } else {
        "view_start"
    };
    let mut meta = json!({ "aggregation": aggregation });
    if let Some(g) = granularity {
        meta["granularity"] = json!(g.name());
    }
    meta
}

fn value_of(group: &GroupValue) -> Value {
    group.value.map_or(Value::Null, number)
}

/// Runs `metric` grouped, on the views as they are now.
async fn grouped(
    state: &AppState,
    tenant: String,
    metric: Metric,
    aggregate: Aggregate,
    query: MuxQuery,
    groupings: Vec<Grouping>,
) -> Result<Vec<Vec<GroupValue>>, MuxError> {
    Ok(super::with_views(state, &tenant.clone(), move |index| {
        index.mux_groupings(&tenant, metric, aggregate, &query, &groupings)
    })
    .await?)
}

/// The one group of [`Grouping::All`] (an empty one when no view has a value).
fn overall_of(mut groups: Vec<GroupValue>) -> GroupValue {
    groups.pop().unwrap_or(GroupValue {
        field: None,
        bucket_ms: None,
        value: None,
        views: 0,
        watch_time_ms: 0,
        playing_time_ms: 0,
    })
}

/// `GET /data/v1/metrics/{metric}/overall`.
pub async fn overall(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let (metric, p, aggregate) = metric_request(&id, raw.as_deref(), &["measurement"])?;
    let timeframe = p.timeframe_s();
    let mut all = grouped(
        &state,
        auth.0.tenant,
        metric,
        aggregate,
        p.query,
        vec![Grouping::All],
    )
    .await?;
    let group = overall_of(all.pop().unwrap_or_default());
    Ok(Json(json!({
        "data": {
            "value": value_of(&group),
            "total_views": group.views,
            "total_watch_time": group.watch_time_ms,
            "total_playing_time": group.playing_time_ms,
        },
        "meta": meta(metric, None),
        "timeframe": timeframe,
        "total_row_count": Value::Null,
    })))
}

/// A breakdown's rows: each value of `dimension` with its negative impact, ordered and paged.
fn breakdown_rows(
    metric: Metric,
    rows: Vec<GroupValue>,
    overall: &GroupValue,
) -> Vec<(GroupValue, f64)> {
    rows.into_iter()
        .map(|g| {
            let impact = negative_impact(metric, &g, overall);
            (g, impact)
        })
        .collect()
}

/// `GET /data/v1/metrics/{metric}/breakdown`.
pub async fn breakdown(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let (metric, p, aggregate) = metric_request(
        &id,
        raw.as_deref(),
        &[
            "measurement",
            "group_by",
            "order_by",
            "order_direction",
            "page",
            "limit",
        ],
    )?;
    let dimension = parse_dimension(
        "group_by",
        p.group_by
            .as_deref()
            .ok_or_else(|| bad("`group_by` is required: the dimension to break down by"))?,
    )?;
    let timeframe = p.timeframe_s();
    let mut results = grouped(
        &state,
        auth.0.tenant,
        metric,
        aggregate,
        p.query,
        vec![Grouping::All, Grouping::Dimension(dimension)],
    )
    .await?
    .into_iter();
    let overall = overall_of(results.next().unwrap_or_default());
    let mut rows = breakdown_rows(metric, results.next().unwrap_or_default(), &overall);
    let order_by = p.order_by.as_deref().unwrap_or("negative_impact");
    let descending = p.descending.unwrap_or(order_by != "field");
    rows.sort_by(|(a, ai), (b, bi)| {
        let order = match order_by {
            "value" => a
                .value
                .unwrap_or(f64::NAN)
                .total_cmp(&b.value.unwrap_or(f64::NAN)),
            "views" => a.views.cmp(&b.views),
            "field" => a.field.cmp(&b.field),
            _ => ai.total_cmp(bi),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.field.cmp(&b.field))
    });
    // Mux's `negative_impact` is a rank: 1 for the value that hurts the metric most.
    let mut by_impact: Vec<(f64, Option<String>)> =
        rows.iter().map(|(g, i)| (*i, g.field.clone())).collect();
    by_impact.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let rank: std::collections::HashMap<Option<String>, usize> = by_impact
        .into_iter()
        .enumerate()
        .map(|(i, (_, field))| (field, i + 1))
        .collect();
    let total = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .skip((p.page - 1).saturating_mul(p.limit))
        .take(p.limit)
        .map(|(g, _)| {
            json!({
                "negative_impact": rank.get(&g.field).copied().unwrap_or(total),
                "field": g.field,
                "value": value_of(&g),
                "views": g.views,
                "total_watch_time": g.watch_time_ms,
                "total_playing_time": g.playing_time_ms,
            })
        })
        .collect();
    Ok(Json(json!({
        "data": data,
        "meta": meta(metric, None),
        "timeframe": timeframe,
        "total_row_count": total,
    })))
}

/// The step of a time series over `span_ms` when `group_by` is not given, as Mux's: minutes under
/// 90 minutes, ten minutes up to six hours, hours up to 15 days, else days.
fn default_granularity(span_ms: i64) -> Granularity {
    if span_ms < 90 * 60_000 {
        Granularity::Minute
    } else if span_ms <= 6 * 3_600_000 {
        Granularity::TenMinutes
    } else if span_ms <= 15 * 86_400_000 {
        Granularity::Hour
    } else {
        Granularity::Day
    }
}

/// The most points a time series may hold.
const MAX_POINTS: i64 = 10_000;

/// `GET /data/v1/metrics/{metric}/timeseries`: one `[time, value, views]` per step of the
/// timeframe, steps without views included (value null, 0 views).
pub async fn timeseries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let (metric, p, aggregate) = metric_request(
        &id,
        raw.as_deref(),
        &["measurement", "group_by", "order_direction"],
    )?;
    let (from, to) = (p.query.from_ms, p.query.to_ms);
    let granularity = match p.group_by.as_deref() {
        Some(name) => Granularity::parse(name).map_err(bad)?,
        None => default_granularity(to - from),
    };
    let first = granularity.bucket(from);
    if (to - first) / granularity.ms() > MAX_POINTS {
        return Err(bad(format!(
            "`group_by={}` over this timeframe gives more than {MAX_POINTS} points; use a larger step",
            granularity.name()
        )));
    }
    let timeframe = p.timeframe_s();
    let descending = p.descending.unwrap_or(false);
    let groups = grouped(
        &state,
        auth.0.tenant,
        metric,
        aggregate,
        p.query,
        vec![Grouping::Time(granularity)],
    )
    .await?
    .pop()
    .unwrap_or_default();
    let by_bucket: std::collections::HashMap<i64, GroupValue> = groups
        .into_iter()
        .filter_map(|g| Some((g.bucket_ms?, g)))
        .collect();
    let mut data = Vec::new();
    let mut at = first;
    while at < to {
        let (value, views) = by_bucket
            .get(&at)
            .map_or((Value::Null, 0), |g| (value_of(g), g.views));
        data.push(json!([iso(at), value, views]));
        at = granularity.bucket(at + granularity.ms());
    }
    if descending {
        data.reverse();
    }
    let total = data.len();
    Ok(Json(json!({
        "data": data,
        "meta": meta(metric, Some(granularity)),
        "timeframe": timeframe,
        "total_row_count": total,
    })))
}

/// Epoch ms as Mux's time series label it: `2026-12-07T20:00:00Z`.
fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `GET /data/v1/metrics/{metric}/insights`: the values of every dimension by how much they hurt
/// the metric (negative impact), worst first.
pub async fn insights(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let (metric, p, aggregate) =
        metric_request(&id, raw.as_deref(), &["measurement", "order_direction"])?;
    let timeframe = p.timeframe_s();
    let mut groupings = vec![Grouping::All];
    groupings.extend(DIMENSIONS.iter().map(|(_, d)| Grouping::Dimension(*d)));
    let mut results = grouped(&state, auth.0.tenant, metric, aggregate, p.query, groupings)
        .await?
        .into_iter();
    let overall = overall_of(results.next().unwrap_or_default());
    let mut rows: Vec<(&str, GroupValue, f64)> = Vec::new();
    for ((name, _), groups) in DIMENSIONS.iter().zip(results) {
        for (group, impact) in breakdown_rows(metric, groups, &overall) {
            rows.push((name, group, impact));
        }
    }
    rows.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then_with(|| a.0.cmp(b.0))
            .then_with(|| a.1.field.cmp(&b.1.field))
    });
    if p.descending == Some(false) {
        rows.reverse();
    }
    let total = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .map(|(name, g, impact)| {
            json!({
                "filter_column": name,
                "filter_value": g.field,
                "metric": value_of(&g),
                "negative_impact_score": number(impact),
                "total_views": g.views,
                "total_watch_time": g.watch_time_ms,
                "total_playing_time": g.playing_time_ms,
            })
        })
        .collect();
    Ok(Json(json!({
        "data": data,
        "meta": meta(metric, None),
        "timeframe": timeframe,
        "total_row_count": total,
    })))
}

/// A metric as the comparison lists it: the metric, a measurement other than its default, its
/// value's type and its name in Mux's words.
type Listed = (Metric, Option<Measurement>, &'static str, &'static str);

/// What `GET /data/v1/metrics/comparison` lists, grouped as Mux groups it: each score (or the
/// views) with the metrics it is made of.
const COMPARISON: [(Listed, &[Listed]); 4] = [
    (
        (Metric::Views, None, "number", "Views"),
        &[
            (Metric::UniqueViewers, None, "number", "Unique Viewers"),
            (Metric::PlayingTime, None, "milliseconds", "Playing Time"),
        ],
    ),
    (
        (
            Metric::PlaybackSuccessScore,
            None,
            "score",
            "Playback Success Score",
        ),
        &[
            (
                Metric::PlaybackFailurePercentage,
                None,
                "percentage",
                "Playback Failure Percentage",
            ),
            (
                Metric::VideoStartupFailurePercentage,
                None,
                "percentage",
                "Video Startup Failure Percentage",
            ),
            (
                Metric::ExitsBeforeVideoStart,
                None,
                "percentage",
                "Exits Before Video Start",
            ),
            (
                Metric::ViewDroppedPercentage,
                None,
                "percentage",
                "View Dropped Percentage",
            ),
            (
                Metric::PlaybackBusinessExceptionPercentage,
                None,
                "percentage",
                "Playback Business Exception Percentage",
            ),
            (
                Metric::VideoStartupBusinessExceptionPercentage,
                None,
                "percentage",
                "Video Startup Business Exception Percentage",
            ),
        ],
    ),
    (
        (
            Metric::StartupTimeScore,
            None,
            "score",
            "Startup Time Score",
        ),
        &[
            (
                Metric::VideoStartupTime,
                None,
                "milliseconds",
                "Video Startup Time (median)",
            ),
            (
                Metric::VideoStartupTime,
                Some(Measurement::P95),
                "milliseconds",
                "Video Startup Time (95th %)",
            ),
            (Metric::SeekLatency, None, "milliseconds", "Seek Latency"),
        ],
    ),
    (
        (Metric::SmoothnessScore, None, "score", "Rebuffer Score"),
        &[
            (
                Metric::RebufferPercentage,
                None,
                "percentage",
                "Rebuffer Percentage",
            ),
            (
                Metric::RebufferFrequency,
                None,
                "per_minute",
                "Rebuffer Frequency",
            ),
            (
                Metric::RebufferDuration,
                None,
                "milliseconds",
                "Rebuffer Duration (median)",
            ),
            (
                Metric::RebufferDuration,
                Some(Measurement::P95),
                "milliseconds",
                "Rebuffer Duration (95th %)",
            ),
            (
                Metric::RebufferCount,
                None,
                "number",
                "Rebuffer Count (median)",
            ),
            (
                Metric::RebufferCount,
                Some(Measurement::P95),
                "number",
                "Rebuffer Count (95th %)",
            ),
        ],
    ),
];

/// `GET /data/v1/metrics/comparison`: every measured metric over the views of one dimension value
/// (`dimension` and `value`), or over all views, after a row of totals, grouped as Mux's.
pub async fn comparison(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let mut p = params(raw.as_deref(), &["dimension", "value"])?;
    match (p.dimension, p.value.clone()) {
        (Some(dimension), Some(value)) => p.query.filters.push(Filter {
            dimension,
            value,
            include: true,
        }),
        (None, None) => {}
        _ => return Err(bad("`dimension` and `value` go together")),
    }
    let timeframe = p.timeframe_s();
    let tenant = auth.0.tenant;
    let turn = tenant.clone();
    let query = p.query;
    let value = move |index: &crate::query::ViewIndex,
                      (metric, measurement, kind, name): Listed| {
        let aggregate = metric.aggregate(measurement).unwrap_or(Aggregate::Views);
        let group = overall_of(index.mux_groups(&tenant, metric, aggregate, &query, Grouping::All));
        let mut out =
            json!({ "metric": metric.id(), "name": name, "type": kind, "value": value_of(&group) });
        if let Some(m) = measurement {
            out["measurement"] = json!(m.name());
        }
        (out, group)
    };
    let data = super::with_views(&state, &turn, move |index| {
        let (_, started) = value(index, (Metric::Views, None, "", ""));
        // Every view has a playback failure value: its group is the views that ended.
        let (_, ended) = value(index, (Metric::PlaybackFailurePercentage, None, "", ""));
        let (viewers, _) = value(index, (Metric::UniqueViewers, None, "", ""));
        let mut data = vec![json!({
            "name": "totals",
            "started_views": started.views,
            "ended_views": ended.views,
            "view_count": ended.views,
            "unique_viewers": viewers["value"],
            "watch_time": ended.watch_time_ms,
            "total_playing_time": started.playing_time_ms,
        })];
        for (head, items) in COMPARISON {
            let (mut row, _) = value(index, head);
            row["items"] = Value::Array(items.iter().map(|item| value(index, *item).0).collect());
            data.push(row);
        }
        data
    })
    .await?;
    let total = data.len();
    Ok(Json(
        json!({ "data": data, "timeframe": timeframe, "total_row_count": total }),
    ))
}

/// `GET /data/v1/dimensions`: the dimensions Tapemetric breaks metrics down by.
pub async fn dimensions(_auth: Auth) -> Result<Json<Value>, MuxError> {
    let names: Vec<&str> = DIMENSIONS.iter().map(|(n, _)| *n).collect();
    let (basic, advanced) = names.split_at(BASIC_DIMENSIONS);
    Ok(Json(json!({
        "data": { "basic": basic, "advanced": advanced },
        "timeframe": [],
        "total_row_count": Value::Null,
    })))
}

/// `GET /data/v1/dimensions/{dimension}`: its values among the views started in the timeframe,
/// with their view counts, most first, paged.
pub async fn dimension_values(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MuxError> {
    let dimension = parse_dimension("dimension", &name)?;
    let p = params(raw.as_deref(), &["page", "limit"])?;
    let timeframe = p.timeframe_s();
    let tenant = auth.0.tenant;
    let query = p.query;
    let values = super::with_views(&state, &tenant.clone(), move |index| {
        index.mux_dimension_values(&tenant, dimension, &query)
    })
    .await?;
    let total = values.len();
    let data: Vec<Value> = values
        .into_iter()
        .skip((p.page - 1).saturating_mul(p.limit))
        .take(p.limit)
        .map(|(value, count)| json!({ "value": value, "total_count": count }))
        .collect();
    let mut out = Map::new();
    out.insert("data".into(), Value::Array(data));
    out.insert("timeframe".into(), timeframe);
    out.insert("total_row_count".into(), json!(total));
    Ok(Json(Value::Object(out)))
}
