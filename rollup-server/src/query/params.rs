//! What a query asks: Livepeer's view metrics (dimensions, time steps, filters), viewers now, and
//! mave's plays, sources and engagement (intervals, timeframes, custom props). Request strings are
//! parsed into these types at the API; nothing else of a request reaches a computation.

use serde_json::Value;

/// A dimension to break metrics down by (Livepeer's names, plus Tapemetric's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    ContentId,
    ContentType,
    Browser,
    BrowserEngine,
    Os,
    DeviceType,
    Device,
    Continent,
    Country,
    Subdivision,
    Timezone,
    ViewerId,
    Source,
    PlayerName,
}

impl Dimension {
    /// Every dimension, in declaration order (`d as usize` is its position here).
    pub const ALL: [Dimension; 14] = [
        Dimension::ContentId,
        Dimension::ContentType,
        Dimension::Browser,
        Dimension::BrowserEngine,
        Dimension::Os,
        Dimension::DeviceType,
        Dimension::Device,
        Dimension::Continent,
        Dimension::Country,
        Dimension::Subdivision,
        Dimension::Timezone,
        Dimension::ViewerId,
        Dimension::Source,
        Dimension::PlayerName,
    ];

    /// Every dimension with its API name (the first name is the one answered).
    const NAMES: [(&'static str, Dimension); 15] = [
        ("playbackId", Dimension::ContentId),
        ("contentId", Dimension::ContentId),
        ("contentType", Dimension::ContentType),
        ("browser", Dimension::Browser),
        ("browserEngine", Dimension::BrowserEngine),
        ("os", Dimension::Os),
        ("deviceType", Dimension::DeviceType),
        ("device", Dimension::Device),
        ("continent", Dimension::Continent),
        ("country", Dimension::Country),
        ("subdivision", Dimension::Subdivision),
        ("timezone", Dimension::Timezone),
        ("viewerId", Dimension::ViewerId),
        ("source", Dimension::Source),
        ("playerName", Dimension::PlayerName),
    ];

    /// Parses an API name; the error lists the accepted ones.
    pub fn parse(name: &str) -> Result<Dimension, String> {
        Dimension::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                let names: Vec<&str> = Dimension::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "`breakdownBy` must be one of {}; got `{name}`",
                    names.join(", ")
                )
            })
    }

    /// The field name in answers.
    pub fn api_name(self) -> &'static str {
        Dimension::NAMES
            .iter()
            .find(|(_, d)| *d == self)
            .map_or("unknown", |(n, _)| *n)
    }

    /// Its column in the `views` and `view_segments` tables.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::ContentId => "content_id",
            Dimension::ContentType => "content_type",
            Dimension::Browser => "browser",
            Dimension::Os => "os",
            Dimension::DeviceType => "device_type",
            Dimension::Device => "device",
            Dimension::Continent => "continent",
            Dimension::Country => "country",
            Dimension::Subdivision => "subdivision",
            Dimension::Timezone => "timezone",
            Dimension::ViewerId => "viewer_id",
            // The page the view started on, without query and fragment.
            Dimension::Source => "source",
            Dimension::BrowserEngine => "browser_engine",
            Dimension::PlayerName => "player_name",
        }
    }
}

/// A time bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStep {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimeStep {
    /// Parses `hour|day|week|month|year`.
    pub fn parse(name: &str) -> Result<TimeStep, String> {
        match name {
            "hour" => Ok(TimeStep::Hour),
            "day" => Ok(TimeStep::Day),
            "week" => Ok(TimeStep::Week),
            "month" => Ok(TimeStep::Month),
            "year" => Ok(TimeStep::Year),
            _ => Err(format!(
                "`timeStep` must be one of hour, day, week, month, year; got `{name}`"
            )),
        }
    }
}

/// A metrics query for one tenant.
#[derive(Debug, Clone, Default)]
pub struct MetricsQuery {
    pub content_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub time_step: Option<TimeStep>,
    pub breakdown: Vec<Dimension>,
    /// Only views whose dimension equals the value (one value per dimension).
    pub filters: Vec<(Dimension, String)>,
}

/// How recent an event must be for its session to count as watching now.
pub const REALTIME_WINDOW_MS: i64 = 90_000;

impl Dimension {
    /// The dimensions `/data/views/now` breaks down by (Livepeer's realtime ones).
    pub fn parse_realtime(name: &str) -> Result<Dimension, String> {
        match Dimension::parse(name) {
            Ok(
                d @ (Dimension::ContentId
                | Dimension::Device
                | Dimension::Browser
                | Dimension::Country),
            ) => Ok(d),
            _ => Err(format!(
                "`breakdownBy` must be one of playbackId, device, browser, country; got `{name}`"
            )),
        }
    }
}

/// A `/data/views/now` query.
#[derive(Debug, Clone, Default)]
pub struct RealtimeQuery {
    pub content_id: Option<String>,
    pub breakdown: Vec<Dimension>,
}

/// A calendar unit of an interval or timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// An amount of time such as `1 day` or `12 months`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub count: i64,
    pub unit: SpanUnit,
}

impl Span {
    /// Parses `<n> <unit>` (`minute`, `hour`, `day`, `week`, `month`, `year`, singular or plural);
    /// the error says what is accepted.
    pub fn parse(name: &str, text: &str) -> Result<Span, String> {
        let bad = || {
            format!(
                "`{name}` must look like `1 day` or `12 months` (units: minute, hour, day, week, month, year); got `{text}`"
            )
        };
        let mut parts = text.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let count: i64 = count.parse().map_err(|_| bad())?;
        if !(1..=100_000).contains(&count) {
            return Err(format!(
                "`{name}` must be between 1 and 100000 units; got `{text}`"
            ));
        }
        let unit = match unit.to_ascii_lowercase().trim_end_matches('s') {
            "minute" => SpanUnit::Minute,
            "hour" => SpanUnit::Hour,
            "day" => SpanUnit::Day,
            "week" => SpanUnit::Week,
            "month" => SpanUnit::Month,
            "year" => SpanUnit::Year,
            _ => return Err(bad()),
        };
        Ok(Span { count, unit })
    }
}

/// Which views a mave query covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeframe {
    /// Views started within this span before now.
    Last(Span),
    /// Views started in `[from_ms, to_ms]`.
    Between { from_ms: i64, to_ms: Option<i64> },
}

/// Parameters shared by the mave queries.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaysQuery {
    /// A content id (mave's video `identifier`).
    pub identifier: Option<String>,
    /// Custom props that the view's first event must carry with these exact values.
    pub props: Vec<(String, String)>,
    pub interval: Span,
    pub timeframe: Timeframe,
    pub minimum_watch_ms: i64,
}

impl Default for PlaysQuery {
    /// mave's defaults: 12-month intervals over the last 7 days, plays of at least 1 second.
    fn default() -> PlaysQuery {
        PlaysQuery {
            identifier: None,
            props: Vec::new(),
            interval: Span {
                count: 12,
                unit: SpanUnit::Month,
            },
            timeframe: Timeframe::Last(Span {
                count: 7,
                unit: SpanUnit::Day,
            }),
            minimum_watch_ms: 1_000,
        }
    }
}

/// A JSON number (null for a non-finite value).
pub fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_is_listed_once_in_declaration_order() {
        for (i, d) in Dimension::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i, "{d:?}");
        }
        for (_, d) in Dimension::NAMES {
            assert!(Dimension::ALL.contains(&d), "{d:?}");
        }
    }

    #[test]
    fn spans_parse_and_bad_ones_are_named() {
        assert_eq!(
            Span::parse("interval", "1 day"),
            Ok(Span {
                count: 1,
                unit: SpanUnit::Day
            })
        );
        assert_eq!(
            Span::parse("interval", "12 Months"),
            Ok(Span {
                count: 12,
                unit: SpanUnit::Month
            })
        );
        for bad in ["day", "1", "one day", "1 fortnight", "0 days", "1 day ago"] {
            let err = Span::parse("interval", bad).expect_err(bad);
            assert!(err.contains("`interval`"), "{err}");
        }
    }
}
