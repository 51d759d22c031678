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
/// Most played ranges on one heartbeat.
pub const MAX_PLAYED_RANGES: usize = 256;
