//! Anonymous id and session id rules.

use crate::json::{digit, write_int};
use alloc::string::String;

/// A session ends after this long without activity.
pub const SESSION_IDLE_MS: f64 = 30.0 * 60.0 * 1000.0;

/// A stored session: its id and the time of its last activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub last_activity_ms: f64,
}

impl Session {
    /// Parses the stored form `"<id>|<last activity ms>"` (whole milliseconds: integer parsing keeps
    /// float parsing out of the shipped wasm).
    pub fn parse(stored: &str) -> Option<Session> {
        let bar = stored.bytes().position(|b| b == b'|')?;
        let id = stored.get(..bar)?;
        let last_activity_ms = parse_ms(stored.get(bar + 1..)?)? as f64;
        (!id.is_empty()).then(|| Session {
            id: String::from(id),
            last_activity_ms,
        })
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        let mut stored = self.id.clone();
        stored.push('|');
        write_int(&mut stored, self.last_activity_ms as i64);
        stored
    }
}

/// Whole non-negative milliseconds (what [`Session::to_stored`] writes).
fn parse_ms(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0i64, |n, b| {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(i64::from(d))
    })
}

/// The session to use at `now_ms`: the stored one, touched, unless it has been idle for 30 minutes or
/// more, in which case a new one starts with `new_id`.
pub fn current_session(
    stored: Option<Session>,
    now_ms: f64,
    new_id: impl FnOnce() -> String,
) -> Session {
    match stored {
        Some(session) if now_ms - session.last_activity_ms < SESSION_IDLE_MS => Session {
            id: session.id,
            last_activity_ms: now_ms.max(session.last_activity_ms),
        },
        _ => Session {
            id: new_id(),
            last_activity_ms: now_ms,
        },
    }
}

/// Formats 16 random bytes as a UUID v4.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(digit(u64::from(b >> 4)));
        id.push(digit(u64::from(*b)));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_session_is_kept_and_touched() {
        let stored = Session {
            id: "s1".into(),
            last_activity_ms: 1_000.0,
        };
        let now = 1_000.0 + SESSION_IDLE_MS - 1.0;
        let session = current_session(Some(stored), now, || "new".into());
        assert_eq!(
            session,
            Session {
                id: "s1".into(),
                last_activity_ms: now
            }
        );
    }

    #[test]
    fn a_session_idle_for_30_minutes_rotates() {
        let stored = Session {
            id: "s1".into(),
            last_activity_ms: 1_000.0,
        };
        let session = current_session(Some(stored), 1_000.0 + SESSION_IDLE_MS, || "new".into());
        assert_eq!(session.id, "new");
    }

    #[test]
    fn stored_form_round_trips_and_garbage_is_ignored() {
        let s = Session {
            id: "abc".into(),
            last_activity_ms: 42.0,
        };
        assert_eq!(Session::parse(&s.to_stored()), Some(s));
        assert_eq!(Session::parse("nonsense"), None);
        assert_eq!(Session::parse("|5"), None);
        assert_eq!(Session::parse("abc|"), None);
        assert_eq!(Session::parse("abc|-5"), None);
        assert_eq!(Session::parse("abc|1x"), None);
        assert_eq!(Session::parse("abc|99999999999999999999"), None);
    }

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = uuid_v4([0xff; 16]);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(&id[19..20], "b");
        let id = uuid_v4([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 1, 2, 3, 4, 5, 6, 7,
        ]);
        assert_eq!(id, "01234567-89ab-4def-8001-020304050607");
    }
}
