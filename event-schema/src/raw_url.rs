//! Raw URL events, Opentracker style: `GET /v1/collect?key=...&type=...&<url-encoded props>`.
//!
//! Id rules (as Opentracker's raw URL API): `uid` is the visitor (our `anonymous_id`), `sid` the
//! session, `eid` the event, `si` the site (kept as the `si` prop; the tenant always comes from the key).
//! - no ids: `eid` is new and copied into `sid` and `uid`;
//! - `sid` only: `uid` = `sid`;
//! - `uid` only: a new session whose `sid` = `eid`;
//! - both: kept as given.

use serde_json::{Map, Number, Value};

/// Ids resolved from the raw URL parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawIds {
    pub eid: String,
    pub session_id: String,
    pub anonymous_id: String,
}

/// Applies the id rules. `new_eid` is called only when no `eid` was given.
pub fn resolve_ids(
    uid: Option<&str>,
    sid: Option<&str>,
    eid: Option<&str>,
    new_eid: impl FnOnce() -> String,
) -> RawIds {
    let eid = eid
        .filter(|s| !s.is_empty())
        .map_or_else(new_eid, str::to_string);
    let uid = uid.filter(|s| !s.is_empty());
    let sid = sid.filter(|s| !s.is_empty());
    let (session_id, anonymous_id) = match (sid, uid) {
        (None, None) => (eid.clone(), eid.clone()),
        (Some(sid), None) => (sid.to_string(), sid.to_string()),
        (None, Some(uid)) => (eid.clone(), uid.to_string()),
        (Some(sid), Some(uid)) => (sid.to_string(), uid.to_string()),
    };
    RawIds {
        eid,
        session_id,
        anonymous_id,
    }
}

/// Fields whose raw URL value is a number.
const NUMERIC_FIELDS: &[&str] = &[
    "ts",
    "season",
    "episode",
    "duration_s",
    "position_s",
    "ttff_ms",
    "watched_ms",
    "rebuffer_ms",
    "seek_ms",
    "bitrate",
    "width",
    "height",
];

/// Turns raw URL parameters (already percent-decoded, `key` removed) into an event object for
/// [`crate::validate_event`]. `ts` defaults to `now_ms`; `type` is required (validation reports it when
/// missing). Unknown parameters become props.
pub fn event_from_params<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    now_ms: i64,
    new_eid: impl FnOnce() -> String,
) -> Value {
    let mut fields = Map::new();
    let (mut uid, mut sid, mut eid) = (None, None, None);
    for (name, value) in params {
        match name {
            "uid" => uid = Some(value),
            "sid" => sid = Some(value),
            "eid" => eid = Some(value),
            "si" => {
                fields.insert("si".into(), Value::String(value.into()));
            }
            "fatal" | "business_error" => {
                let flag = matches!(value, "1" | "true");
                fields.insert(name.into(), Value::Bool(flag));
            }
            _ if NUMERIC_FIELDS.contains(&name) => {
                // A value that is not a number is passed as a string: validation names the field.
                let number = value
                    .parse::<i64>()
                    .ok()
                    .map(Number::from)
                    .or_else(|| value.parse::<f64>().ok().and_then(Number::from_f64));
                let parsed = number.map_or_else(|| Value::String(value.into()), Value::Number);
                fields.insert(name.into(), parsed);
            }
            _ => {
                fields.insert(name.into(), Value::String(value.into()));
            }
        }
    }
    let ids = resolve_ids(uid, sid, eid, new_eid);
    fields.entry("ts").or_insert_with(|| Value::from(now_ms));
    fields.insert("eid".into(), Value::String(ids.eid));
    fields.insert("session_id".into(), Value::String(ids.session_id));
    fields.insert("anonymous_id".into(), Value::String(ids.anonymous_id));
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(uid: Option<&str>, sid: Option<&str>, eid: Option<&str>) -> (String, String, String) {
        let r = resolve_ids(uid, sid, eid, || "NEW".to_string());
        (r.eid, r.session_id, r.anonymous_id)
    }

    #[test]
    fn no_ids_copy_the_event_id_into_session_and_user() {
        assert_eq!(
            ids(None, None, None),
            ("NEW".into(), "NEW".into(), "NEW".into())
        );
    }

    #[test]
    fn session_only_makes_the_user_the_session() {
        assert_eq!(
            ids(None, Some("s1"), None),
            ("NEW".into(), "s1".into(), "s1".into())
        );
    }

    #[test]
    fn user_only_starts_a_session_named_after_the_event() {
        assert_eq!(
            ids(Some("u1"), None, Some("e1")),
            ("e1".into(), "e1".into(), "u1".into())
        );
    }

    #[test]
    fn both_ids_are_kept() {
        assert_eq!(
            ids(Some("u1"), Some("s1"), None),
            ("NEW".into(), "s1".into(), "u1".into())
        );
    }

    #[test]
    fn params_become_a_valid_event_with_unknowns_in_props() {
        let params = [
            ("type", "custom"),
            ("name", "signup"),
            ("plan", "gold"),
            ("ts", "1000"),
        ];
        let raw = event_from_params(params, 5_000, || "E".into());
        let event = crate::validate_event(raw, 5_000, &mut || "unused".into()).expect("valid");
        assert_eq!(event.eid, "E");
        assert_eq!(event.session_id.as_deref(), Some("E"));
        assert_eq!(event.ts, 1000);
        assert_eq!(event.props.get("plan"), Some(&Value::String("gold".into())));
    }
}
