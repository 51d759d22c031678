//! Time buckets: Livepeer's time steps, mave's intervals and timeframes, on the UTC calendar.

use crate::query::params::TimeStep;
use crate::query::params::{Span, SpanUnit};
use event_schema::civil_time::{civil_from_days, days_from_civil};

/// The bucket of `started_ms` for `step` (epoch ms, UTC), as [`TimeStep`]'s SQL computes it.
pub(super) fn bucket(step: TimeStep, started_ms: i64) -> i64 {
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

/// Where the bucket after the one starting at `start` starts.
pub(super) fn next_bucket(step: TimeStep, start: i64) -> i64 {
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

/// `now - span` in epoch ms, as DuckDB subtracts an interval from a timestamp: fixed units exactly,
/// months and years on the calendar with the day clamped to the month's last.
pub(super) fn span_before(span: Span, now_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let fixed = |unit: i64| now_ms.saturating_sub(span.count.saturating_mul(unit));
    match span.unit {
        SpanUnit::Minute => fixed(60_000),
        SpanUnit::Hour => fixed(3_600_000),
        SpanUnit::Day => fixed(DAY),
        SpanUnit::Week => fixed(7 * DAY),
        SpanUnit::Month | SpanUnit::Year => {
            let months = if span.unit == SpanUnit::Year {
                span.count.saturating_mul(12)
            } else {
                span.count
            };
            let day_number = now_ms.div_euclid(DAY);
            let time_of_day = now_ms.rem_euclid(DAY);
            let (year, month, day) = civil_from_days(day_number);
            let index = year * 12 + i64::from(month) - 1 - months;
            let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
            let day = day.min(days_in_month(year, month));
            days_from_civil(year, month, day)
                .saturating_mul(DAY)
                .saturating_add(time_of_day)
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
pub(super) fn play_bucket(interval: Span, started_ms: i64) -> i64 {
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

/// A bucket (epoch ms, UTC) as mave labels it: `2023-05-02T00:00:00.000000`.
pub(super) fn bucket_label(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}
