//! Limits of the ingest contract, enforced by the edge before any other work.

/// Largest accepted request body (after decompression), in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most events in one `POST /v1/events` batch.
pub const MAX_BATCH_EVENTS: usize = 500;
/// Largest `props` object, serialized as JSON, in bytes.
pub const MAX_PROPS_BYTES: usize = 4 * 1024;
/// Longest id (`eid`, `anonymous_id`, `session_id`, `view_id`, `user_id`, `content_id`), in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Longest free-text field (titles, URLs, messages, player names), in bytes.
pub const MAX_TEXT_BYTES: usize = 2048;
/// Client timestamps further than this in the future are rejected.
pub const MAX_FUTURE_SKEW_MS: i64 = 24 * 60 * 60 * 1000;
/// Client timestamps older than this are rejected.
pub const MAX_PAST_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The latest time an event can carry, in epoch ms (9999-12-31T23:59:59.999Z). The edge keeps client
/// times near its clock; the rollup server quarantines a lake event outside `0 ..= MAX_TIME_MS`.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// Most played ranges on one heartbeat.
pub const MAX_PLAYED_RANGES: usize = 256;

/// The physical range of a numeric field: `0 ..= max` in the field's unit. The edge refuses an event
/// whose value lies outside it, and the rollup server quarantines such an event should one reach the
/// lake anyway, so no sum, product or conversion downstream sees a value that cannot happen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberRange {
    /// The field's name in the contract.
    pub field: &'static str,
    /// The largest value that can happen.
    pub max: f64,
    /// Why that is the largest: the end of the error message that refuses a larger one.
    pub because: &'static str,
}

impl NumberRange {
    /// True when `value` can happen.
    pub fn contains(&self, value: f64) -> bool {
        (0.0..=self.max).contains(&value)
    }
}

/// Played or rebuffering time one heartbeat may report: heartbeats come every 10 s while playing;
/// an hour covers a background tab whose timers the browser throttled and a client that was offline.
const HEARTBEAT_MS: f64 = 60.0 * 60.0 * 1000.0;
/// A media position, duration or played range, in seconds. Some live players count positions from
/// 1970 (about 1.8e9 s today); 1e10 s is over three centuries.
const MEDIA_S: f64 = 1e10;

/// `watched_ms`: playing time since the last heartbeat.
pub const WATCHED_MS: NumberRange = NumberRange {
    field: "watched_ms",
    max: HEARTBEAT_MS,
    because: "one heartbeat reports at most an hour (3600000 ms) of playing time since the last",
};
/// `rebuffer_ms`: stalled time since the last heartbeat.
pub const REBUFFER_MS: NumberRange = NumberRange {
    field: "rebuffer_ms",
    max: HEARTBEAT_MS,
    because: "one heartbeat reports at most an hour (3600000 ms) of rebuffering since the last",
};
/// `ttff_ms`: play intent to first frame; a viewer waiting over an hour has left.
pub const TTFF_MS: NumberRange = NumberRange {
    field: "ttff_ms",
    max: HEARTBEAT_MS,
    because: "time to first frame is at most an hour (3600000 ms)",
};
/// `seek_ms`: a seek's start to playable again; a seek that takes over an hour has been left.
pub const SEEK_MS: NumberRange = NumberRange {
    field: "seek_ms",
    max: HEARTBEAT_MS,
    because: "a seek takes at most an hour (3600000 ms)",
};
/// `position_s`: the playhead, in seconds.
pub const POSITION_S: NumberRange = NumberRange {
    field: "position_s",
    max: MEDIA_S,
    because: "media positions are at most 1e10 seconds",
};
/// `duration_s`: the media's length, in seconds.
pub const DURATION_S: NumberRange = NumberRange {
    field: "duration_s",
    max: MEDIA_S,
    because: "media durations are at most 1e10 seconds",
};
/// `played`: both ends of each played range, in seconds.
pub const PLAYED_S: NumberRange = NumberRange {
    field: "played",
    max: MEDIA_S,
    because: "played ranges lie within 0 and 1e10 seconds",
};
/// `season`.
pub const SEASON: NumberRange = NumberRange {
    field: "season",
    max: 10_000.0,
    because: "seasons are numbered up to 10000",
};
/// `episode`: daily shows number theirs in the tens of thousands.
pub const EPISODE: NumberRange = NumberRange {
    field: "episode",
    max: 1_000_000.0,
    because: "episodes are numbered up to 1000000",
};
/// `bitrate`, in bits per second.
pub const BITRATE: NumberRange = NumberRange {
    field: "bitrate",
    max: 10_000_000_000.0,
    because: "a rendition's bitrate is at most 10 Gbit/s (10000000000)",
};
/// `width` of the rendition, in pixels.
pub const WIDTH: NumberRange = NumberRange {
    field: "width",
    max: 32_768.0,
    because: "video is at most 32768 pixels wide",
};
/// `height` of the rendition, in pixels.
pub const HEIGHT: NumberRange = NumberRange {
    field: "height",
    max: 32_768.0,
    because: "video is at most 32768 pixels high",
};

/// Every bounded numeric field of the contract (docs/events.md lists them from this table).
pub const NUMBER_RANGES: [NumberRange; 12] = [
    WATCHED_MS,
    REBUFFER_MS,
    TTFF_MS,
    SEEK_MS,
    POSITION_S,
    DURATION_S,
    PLAYED_S,
    SEASON,
    EPISODE,
    BITRATE,
    WIDTH,
    HEIGHT,
];
