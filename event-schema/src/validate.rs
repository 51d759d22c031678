//! Per-event validation with precise errors (`field`, reason). Invalid events are reported by index;
//! the valid ones in the same batch are kept.

use crate::event::{ClientEvent, ContentType, EventType};
use crate::limits;
use serde_json::{Map, Value};

/// Why a whole batch was refused (nothing in it is kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("request body is {0} bytes; the limit is {max} bytes", max = limits::MAX_BODY_BYTES)]
    TooLarge(usize),
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error(
        "request body must be a JSON object with an `events` array, like {{\"events\":[...]}}"
    )]
    MissingEvents,
    #[error("`events` is empty; send 1 to {max} events", max = limits::MAX_BATCH_EVENTS)]
    Empty,
    #[error("`events` has {0} events; the limit is {max} per request", max = limits::MAX_BATCH_EVENTS)]
    TooManyEvents(usize),
}

/// Why one event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {reason}")]
pub struct EventError {
    /// The offending field (`event` for the event as a whole).
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl EventError {
    fn new(field: &str, reason: impl Into<String>) -> Self {
        EventError {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// A parsed batch: the raw events, still to be validated one by one.
#[derive(Debug)]
pub struct ValidatedBatch {
    /// Valid events with their index in the request.
    pub accepted: Vec<(usize, ClientEvent)>,
    /// Rejected events: index and error.
    pub rejected: Vec<(usize, EventError)>,
}

/// Parses a `{"events":[...]}` body and validates each event. `new_eid` supplies ids for events that
/// came without one; `now_ms` is the edge's clock.
pub fn parse_batch(
    body: &[u8],
    now_ms: i64,
    mut new_eid: impl FnMut() -> String,
) -> Result<ValidatedBatch, BatchError> {
    if body.len() > limits::MAX_BODY_BYTES {
        return Err(BatchError::TooLarge(body.len()));
    }
    let root: Value =
        serde_json::from_slice(body).map_err(|e| BatchError::MalformedJson(e.to_string()))?;
    let Value::Object(mut root) = root else {
        return Err(BatchError::MissingEvents);
    };
    let Some(Value::Array(events)) = root.remove("events") else {
        return Err(BatchError::MissingEvents);
    };
    if events.is_empty() {
        return Err(BatchError::Empty);
    }
    if events.len() > limits::MAX_BATCH_EVENTS {
        return Err(BatchError::TooManyEvents(events.len()));
    }
    let mut batch = ValidatedBatch {
        accepted: Vec::with_capacity(events.len()),
        rejected: Vec::new(),
    };
    for (index, raw) in events.into_iter().enumerate() {
        match validate_event(raw, now_ms, &mut new_eid) {
            Ok(event) => batch.accepted.push((index, event)),
            Err(error) => batch.rejected.push((index, error)),
        }
    }
    Ok(batch)
}

/// Validates one event object. Fields the contract does not know are moved into `props`.
pub fn validate_event(
    raw: Value,
    now_ms: i64,
    new_eid: &mut impl FnMut() -> String,
) -> Result<ClientEvent, EventError> {
    let Value::Object(mut fields) = raw else {
        return Err(EventError::new("event", "must be a JSON object"));
    };
    let type_name = take_string(&mut fields, "type", limits::MAX_ID_BYTES)?
        .ok_or_else(|| EventError::new("type", "is required"))?;
    let event_type = EventType::parse(&type_name).ok_or_else(|| {
        EventError::new(
            "type",
            format!(
                "unknown event type `{type_name}`; expected one of {}",
                EventType::ALL.map(EventType::as_str).join(", ")
            ),
        )
    })?;
    let ts = take_i64(&mut fields, "ts")?.ok_or_else(|| EventError::new("ts", "is required"))?;
    if ts > now_ms + limits::MAX_FUTURE_SKEW_MS {
        return Err(EventError::new(
            "ts",
            "is more than 24 hours in the future; send epoch milliseconds",
        ));
    }
    if ts < now_ms - limits::MAX_PAST_AGE_MS {
        return Err(EventError::new(
            "ts",
            "is more than 7 days in the past; send epoch milliseconds",
        ));
    }
    let eid = match take_id(&mut fields, "eid")? {
        Some(eid) => eid,
        None => new_eid(),
    };
    let anonymous_id = take_id(&mut fields, "anonymous_id")?
        .ok_or_else(|| EventError::new("anonymous_id", "is required"))?;
    let content_type = match take_string(&mut fields, "content_type", limits::MAX_ID_BYTES)? {
        None => None,
        Some(name) => Some(ContentType::parse(&name).ok_or_else(|| {
            EventError::new(
                "content_type",
                format!("must be one of series, film, live, short; got `{name}`"),
            )
        })?),
    };
    let mut event = ClientEvent {
        event_type,
        ts,
        eid,
        anonymous_id,
        user_id: take_id(&mut fields, "user_id")?,
        session_id: take_id(&mut fields, "session_id")?,
        view_id: take_id(&mut fields, "view_id")?,
        content_id: take_id(&mut fields, "content_id")?,
        content_type,
        content_title: take_text(&mut fields, "content_title")?,
        season: take_count(&mut fields, &limits::SEASON)?,
        episode: take_count(&mut fields, &limits::EPISODE)?,
        duration_s: take_seconds(&mut fields, &limits::DURATION_S)?,
        position_s: take_seconds(&mut fields, &limits::POSITION_S)?,
        page_url: take_text(&mut fields, "page_url")?,
        referrer: take_text(&mut fields, "referrer")?,
        player_name: take_text(&mut fields, "player_name")?,
        player_version: take_text(&mut fields, "player_version")?,
        ttff_ms: take_count(&mut fields, &limits::TTFF_MS)?,
        watched_ms: take_count(&mut fields, &limits::WATCHED_MS)?,
        rebuffer_ms: take_count(&mut fields, &limits::REBUFFER_MS)?,
        played: take_played(&mut fields)?,
        error_code: take_text(&mut fields, "error_code")?,
        error_message: take_text(&mut fields, "error_message")?,
        fatal: take_bool(&mut fields, "fatal")?,
        business_error: take_bool(&mut fields, "business_error")?,
        seek_ms: take_count(&mut fields, &limits::SEEK_MS)?,
        bitrate: take_count(&mut fields, &limits::BITRATE)?,
        width: take_count(&mut fields, &limits::WIDTH)?,
        height: take_count(&mut fields, &limits::HEIGHT)?,
        name: take_text(&mut fields, "name")?,
        props: Map::new(),
    };
    event.props = match fields.remove("props") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(props)) => props,
        Some(_) => return Err(EventError::new("props", "must be a JSON object")),
    };
    // Unknown fields are kept, never silently dropped: they travel in `props`.
    for (key, value) in fields {
        event.props.entry(key).or_insert(value);
    }
    let props_bytes = serde_json::to_string(&event.props).map_or(usize::MAX, |s| s.len());
    if props_bytes > limits::MAX_PROPS_BYTES {
        return Err(EventError::new(
            "props",
            format!(
                "is {props_bytes} bytes (with unknown fields); the limit is {} bytes",
                limits::MAX_PROPS_BYTES
            ),
        ));
    }
    check_type_rules(&event)?;
    Ok(event)
}

/// Rules that depend on the event type.
fn check_type_rules(event: &ClientEvent) -> Result<(), EventError> {
    if event.event_type.is_playback() {
        if event.view_id.is_none() {
            return Err(EventError::new("view_id", "is required on playback events"));
        }
        if event.content_id.is_none() {
            return Err(EventError::new(
                "content_id",
                "is required on playback events",
            ));
        }
    }
    match event.event_type {
        EventType::Identify if event.user_id.is_none() => {
            Err(EventError::new("user_id", "is required on `identify`"))
        }
        EventType::Custom if event.name.is_none() => {
            Err(EventError::new("name", "is required on `custom`"))
        }
        _ => Ok(()),
    }
}

fn take_string(
    fields: &mut Map<String, Value>,
    field: &str,
    max_bytes: usize,
) -> Result<Option<String>, EventError> {
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > max_bytes => Err(EventError::new(
            field,
            format!("is {} bytes; the limit is {max_bytes}", s.len()),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EventError::new(field, "must be a string")),
    }
}

fn take_text(fields: &mut Map<String, Value>, field: &str) -> Result<Option<String>, EventError> {
    take_string(fields, field, limits::MAX_TEXT_BYTES)
}

/// Ids are non-empty, URL-safe slugs: ASCII letters, digits, `-`, `_`, `.`, `:`.
fn take_id(fields: &mut Map<String, Value>, field: &str) -> Result<Option<String>, EventError> {
    let Some(id) = take_string(fields, field, limits::MAX_ID_BYTES)? else {
        return Ok(None);
    };
    if !is_url_safe_id(&id) {
        return Err(EventError::new(
            field,
            "must be a non-empty URL-safe id (letters, digits, `-`, `_`, `.`, `:`)",
        ));
    }
    Ok(Some(id))
}

/// True for the URL-safe slugs the contract uses as ids.
pub(crate) fn is_url_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn take_i64(fields: &mut Map<String, Value>, field: &str) -> Result<Option<i64>, EventError> {
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) => Ok(Some(v)),
            // Whole numbers sent as floats (JS `Date.now()` arithmetic) are accepted.
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(EventError::new(field, "must be a whole number")),
            },
        },
        Some(_) => Err(EventError::new(field, "must be a number")),
    }
}

/// A whole number within its physical range (see [`limits::NumberRange`]).
fn take_count(
    fields: &mut Map<String, Value>,
    range: &limits::NumberRange,
) -> Result<Option<i64>, EventError> {
    match take_i64(fields, range.field)? {
        Some(v) if v < 0 => Err(EventError::new(range.field, "must not be negative")),
        Some(v) if !range.contains(v as f64) => Err(out_of_range(range, &v.to_string())),
        other => Ok(other),
    }
}

fn out_of_range(range: &limits::NumberRange, value: &str) -> EventError {
    EventError::new(
        range.field,
        format!("is {value}, which cannot happen: {}", range.because),
    )
}

fn take_seconds(
    fields: &mut Map<String, Value>,
    range: &limits::NumberRange,
) -> Result<Option<f64>, EventError> {
    let field = range.field;
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 && !range.contains(v) => {
                Err(out_of_range(range, &n.to_string()))
            }
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(EventError::new(
                field,
                "must be a non-negative number of seconds",
            )),
        },
        Some(_) => Err(EventError::new(field, "must be a number of seconds")),
    }
}

fn take_bool(fields: &mut Map<String, Value>, field: &str) -> Result<Option<bool>, EventError> {
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(EventError::new(field, "must be true or false")),
    }
}

fn take_played(fields: &mut Map<String, Value>) -> Result<Option<Vec<[f64; 2]>>, EventError> {
    const FIELD: &str = "played";
    let ranges = match fields.remove(FIELD) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(ranges)) => ranges,
        Some(_) => {
            return Err(EventError::new(
                FIELD,
                "must be a list of [from_s, to_s] ranges",
            ))
        }
    };
    if ranges.len() > limits::MAX_PLAYED_RANGES {
        return Err(EventError::new(
            FIELD,
            format!(
                "has {} ranges; the limit is {}",
                ranges.len(),
                limits::MAX_PLAYED_RANGES
            ),
        ));
    }
    let mut played = Vec::with_capacity(ranges.len());
    for range in ranges {
        let pair = match &range {
            Value::Array(pair) if pair.len() == 2 => (pair[0].as_f64(), pair[1].as_f64()),
            _ => (None, None),
        };
        match pair {
            (Some(from), Some(to))
                if from.is_finite() && to.is_finite() && 0.0 <= from && from <= to =>
            {
                if !limits::PLAYED_S.contains(to) {
                    return Err(out_of_range(&limits::PLAYED_S, &range.to_string()));
                }
                played.push([from, to])
            }
            _ => {
                return Err(EventError::new(
                    FIELD,
                    format!("range {range} must be [from_s, to_s] with 0 <= from_s <= to_s"),
                ))
            }
        }
    }
    Ok(Some(played))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_000_000_000;

    fn eid_source() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("gen-{n}")
        }
    }

    fn view_start() -> Value {
        json!({"type":"view_start","ts":NOW,"eid":"e1","anonymous_id":"a1","view_id":"v1",
               "content_id":"big-buck-bunny","content_type":"film"})
    }

    #[test]
    fn valid_view_start_is_accepted() {
        let event = validate_event(view_start(), NOW, &mut eid_source()).expect("valid");
        assert_eq!(event.event_type, EventType::ViewStart);
        assert_eq!(event.content_type, Some(ContentType::Film));
        assert_eq!(event.content_id.as_deref(), Some("big-buck-bunny"));
    }

    #[test]
    fn missing_eid_is_generated() {
        let mut raw = view_start();
        raw.as_object_mut().expect("object").remove("eid");
        let event = validate_event(raw, NOW, &mut eid_source()).expect("valid");
        assert_eq!(event.eid, "gen-1");
    }

    #[test]
    fn unknown_event_type_names_the_field_and_the_choices() {
        let mut raw = view_start();
        raw["type"] = json!("teleport");
        let err = validate_event(raw, NOW, &mut eid_source()).expect_err("invalid");
        assert_eq!(err.field, "type");
        assert!(err.reason.contains("teleport") && err.reason.contains("view_start"));
    }

    #[test]
    fn unknown_fields_are_kept_in_props() {
        let mut raw = view_start();
        raw["cdn"] = json!("edge-7");
        raw["props"] = json!({"plan":"gold"});
        let event = validate_event(raw, NOW, &mut eid_source()).expect("valid");
        assert_eq!(event.props.get("cdn"), Some(&json!("edge-7")));
        assert_eq!(event.props.get("plan"), Some(&json!("gold")));
    }

    #[test]
    fn oversize_props_are_rejected() {
        let mut raw = view_start();
        raw["props"] = json!({"blob": "x".repeat(limits::MAX_PROPS_BYTES)});
        let err = validate_event(raw, NOW, &mut eid_source()).expect_err("too big");
        assert_eq!(err.field, "props");
    }

    #[test]
    fn timestamps_far_from_now_are_rejected() {
        for ts in [
            NOW + limits::MAX_FUTURE_SKEW_MS + 1,
            NOW - limits::MAX_PAST_AGE_MS - 1,
        ] {
            let mut raw = view_start();
            raw["ts"] = json!(ts);
            let err = validate_event(raw, NOW, &mut eid_source()).expect_err("out of range");
            assert_eq!(err.field, "ts");
        }
    }

    #[test]
    fn playback_events_need_a_view_id() {
        let mut raw = view_start();
        raw.as_object_mut().expect("object").remove("view_id");
        let err = validate_event(raw, NOW, &mut eid_source()).expect_err("no view");
        assert_eq!(err.field, "view_id");
    }

    #[test]
    fn ids_must_be_url_safe() {
        let mut raw = view_start();
        raw["content_id"] = json!("a b/c");
        let err = validate_event(raw, NOW, &mut eid_source()).expect_err("bad id");
        assert_eq!(err.field, "content_id");
    }

    #[test]
    fn played_ranges_are_checked() {
        let mut raw = view_start();
        raw["type"] = json!("heartbeat");
        raw["played"] = json!([[0.0, 4.5], [10, 12]]);
        let event = validate_event(raw.clone(), NOW, &mut eid_source()).expect("valid");
        assert_eq!(event.played, Some(vec![[0.0, 4.5], [10.0, 12.0]]));
        raw["played"] = json!([[5, 1]]);
        let err = validate_event(raw, NOW, &mut eid_source()).expect_err("backwards");
        assert_eq!(err.field, "played");
    }

    fn heartbeat() -> Value {
        let mut raw = view_start();
        raw["type"] = json!("heartbeat");
        raw
    }

    #[test]
    fn poison_heartbeats_are_refused_naming_the_field_and_the_range() {
        // The values of the review's reproduction: two such heartbeats overflowed the fold.
        for field in ["watched_ms", "rebuffer_ms", "ttff_ms", "episode", "height"] {
            let mut raw = heartbeat();
            raw[field] = json!(i64::MAX);
            let err = validate_event(raw, NOW, &mut eid_source()).expect_err(field);
            assert_eq!(err.field, field);
            assert!(
                err.reason.contains("9223372036854775807") && err.reason.contains("cannot happen"),
                "{err}"
            );
        }
    }

    #[test]
    fn every_numeric_field_is_accepted_up_to_its_range_and_refused_past_it() {
        for range in limits::NUMBER_RANGES {
            let at_max = if range.field == "played" {
                json!([[0.0, range.max]])
            } else if matches!(range.field, "position_s" | "duration_s") {
                json!(range.max)
            } else {
                json!(range.max as i64)
            };
            let past = if range.field == "played" {
                json!([[0.0, range.max * 2.0]])
            } else if matches!(range.field, "position_s" | "duration_s") {
                json!(range.max * 2.0)
            } else {
                json!(range.max as i64 + 1)
            };
            let mut raw = heartbeat();
            raw[range.field] = at_max;
            validate_event(raw, NOW, &mut eid_source())
                .unwrap_or_else(|e| panic!("{} at its maximum: {e}", range.field));
            let mut raw = heartbeat();
            raw[range.field] = past;
            let err = validate_event(raw, NOW, &mut eid_source()).expect_err(range.field);
            assert_eq!(err.field, range.field, "{err}");
            assert!(err.reason.ends_with(range.because), "{err}");
        }
    }

    #[test]
    fn a_batch_keeps_valid_events_beside_rejected_ones() {
        let body = json!({"events":[view_start(), {"type":"nope"}, view_start()]}).to_string();
        let batch = parse_batch(body.as_bytes(), NOW, eid_source()).expect("batch");
        assert_eq!(batch.accepted.len(), 2);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].0, 1);
    }

    #[test]
    fn batch_level_errors_are_clear() {
        let mut eids = eid_source();
        assert!(matches!(
            parse_batch(b"{not json", NOW, &mut eids),
            Err(BatchError::MalformedJson(_))
        ));
        assert_eq!(
            parse_batch(b"[]", NOW, &mut eids).err(),
            Some(BatchError::MissingEvents)
        );
        assert_eq!(
            parse_batch(br#"{"events":[]}"#, NOW, &mut eids).err(),
            Some(BatchError::Empty)
        );
        let many = json!({"events": vec![view_start(); limits::MAX_BATCH_EVENTS + 1]}).to_string();
        assert_eq!(
            parse_batch(many.as_bytes(), NOW, &mut eids).err(),
            Some(BatchError::TooManyEvents(limits::MAX_BATCH_EVENTS + 1))
        );
        let huge = vec![b' '; limits::MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_batch(&huge, NOW, &mut eids),
            Err(BatchError::TooLarge(_))
        ));
    }

    #[test]
    fn deeply_nested_json_is_refused_without_a_deep_recursion() {
        // 100 000 levels in 200 KB: the parser stops at its depth limit (128) with an error.
        let depth = 100_000;
        let body = format!(
            "{{\"events\":[{}{}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(body.len() < limits::MAX_BODY_BYTES);
        let result = parse_batch(body.as_bytes(), NOW, eid_source());
        assert!(
            matches!(&result, Err(BatchError::MalformedJson(m)) if m.contains("recursion")),
            "{result:?}"
        );
    }

    #[test]
    fn stored_event_round_trips_through_ndjson() {
        use crate::{GeoFields, StoredEvent, UserAgentFields};
        let event = validate_event(view_start(), NOW, &mut eid_source()).expect("valid");
        let stored = StoredEvent {
            tenant_id: "acme".into(),
            key_id: "k1".into(),
            received_at: NOW,
            event,
            user_agent: UserAgentFields {
                browser: Some("Chrome".into()),
                ..Default::default()
            },
            geo: GeoFields {
                country: Some("DE".into()),
                ..Default::default()
            },
        };
        let line = serde_json::to_string(&stored).expect("serialize");
        let back: StoredEvent = serde_json::from_str(&line).expect("deserialize");
        assert_eq!(back, stored);
    }
}
