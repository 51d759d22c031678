//! An event's JSON text: the envelope every event carries (type, time, ids, page) around the fields
//! of its kind (a [`Draft`](crate::tracker::Draft)'s, or those of `identify`, `track`, a page view).

use crate::json::JsonObject;
use alloc::string::String;
use event_schema::EventType;

/// The fields every event carries, filled in by the browser layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    pub event_type: EventType,
    /// Client time, epoch milliseconds.
    pub ts_ms: i64,
    pub eid: &'a str,
    pub anonymous_id: &'a str,
    pub session_id: &'a str,
    pub user_id: Option<&'a str>,
    pub page_url: &'a str,
}

impl Envelope<'_> {
    /// The event's JSON text: the envelope, then `fields`.
    pub fn write(&self, fields: &JsonObject) -> String {
        let mut event = JsonObject::new();
        event.str("type", self.event_type.as_str());
        event.int("ts", self.ts_ms);
        event.str("eid", self.eid);
        event.str("anonymous_id", self.anonymous_id);
        event.str("session_id", self.session_id);
        if let Some(user_id) = self.user_id {
            event.str("user_id", user_id);
        }
        event.str("page_url", self.page_url);
        event.extend(fields);
        event.finish()
    }
}

/// Events after which the batch goes at once rather than at the next 5-second send.
pub fn sends_at_once(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::ViewStart | EventType::Error | EventType::Ended | EventType::ViewEnd
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Outbox;
    use crate::tracker::{MediaSignal, ViewTracker};
    use alloc::format;
    use alloc::vec::Vec;

    const NOW_MS: i64 = 1_795_000_000_000;

    /// An event as the browser layer writes it (the `n`th of the test: its eid).
    fn event(
        n: usize,
        event_type: EventType,
        user_id: Option<&str>,
        fields: &JsonObject,
    ) -> String {
        Envelope {
            event_type,
            ts_ms: NOW_MS,
            eid: &format!("00000000-0000-4000-8000-{n:012}"),
            anonymous_id: "2f1c9a4e-0d7b-4c1e-9a51-6b0c1d2e3f40",
            session_id: "7a0e5b6c-1d2f-4e3a-8b9c-0d1e2f3a4b5c",
            user_id,
            page_url: "https://example.com/watch?v=1",
        }
        .write(fields)
    }

    /// Every kind of event the SDK writes passes the edge's own validation (event-schema's
    /// `parse_batch`) unchanged, and reads back with the values it was written with.
    #[test]
    fn the_edge_accepts_every_event_the_sdk_writes() {
        let mut tracker = ViewTracker::default();
        let mut new_id = || String::from("0fccd4e1-fe3a-46da-a608-263f0957a611");
        let mut drafts = Vec::new();
        let resize = MediaSignal::Resize {
            width: 1280,
            height: 720,
        };
        let error = MediaSignal::Error {
            code: String::from("3"),
            message: String::from("decode \"error\"\n"),
        };
        for (now_ms, position_s, signal) in [
            (0.0, 0.0, MediaSignal::Play),
            (100.0, 0.0, resize),
            (400.0, 0.25, MediaSignal::TimeUpdate),
            (1_400.0, 1.25, MediaSignal::TimeUpdate),
            (1_500.0, 1.25, MediaSignal::Waiting),
            (2_500.0, 1.25, MediaSignal::Playing),
            (2_600.0, 1.35, MediaSignal::Seeking),
            (2_700.0, 30.0, MediaSignal::Seeked),
            (3_700.0, 31.0, MediaSignal::TimeUpdate),
            (3_800.0, 31.0, MediaSignal::Pause),
            (4_800.0, 31.0, MediaSignal::Play),
            (10_000.0, 36.2, MediaSignal::Heartbeat),
            (10_100.0, 36.3, error),
            (11_000.0, 37.0, MediaSignal::Ended),
        ] {
            drafts.extend(tracker.on(signal, position_s, now_ms, &mut new_id));
        }
        drafts.extend(tracker.end_view(37.0, 11_000.0));

        let mut content = JsonObject::new();
        content.str("content_id", "big-buck-bunny");
        content.str("content_type", "film");
        content.str("content_title", "Big Buck Bunny «4K»");
        content.int("season", 1);
        content.int("episode", 2);
        content.str("player_name", "html5");
        let mut outbox = Outbox::default();
        let mut types = Vec::new();
        for draft in &drafts {
            let mut fields = JsonObject::new();
            draft.write_fields(&mut fields);
            fields.extend(&content);
            fields.num("duration_s", 596.48);
            outbox.push(event(types.len(), draft.event_type, None, &fields));
            types.push(draft.event_type.as_str());
        }
        let mut custom = JsonObject::new();
        custom.str("name", "share");
        custom.raw("props", r#"{"to":"x","n":[1,{"a":null}]}"#);
        let mut identify = JsonObject::new();
        identify.raw("props", r#"{"plan":"gold"}"#);
        for (event_type, fields) in [
            (EventType::PageView, JsonObject::new()),
            (EventType::Custom, custom),
            (EventType::Identify, identify),
        ] {
            outbox.push(event(types.len(), event_type, Some("user-7"), &fields));
            types.push(event_type.as_str());
        }
        assert_eq!(
            types,
            [
                "view_start",
                "quality_change",
                "first_frame",
                "rebuffer_start",
                "rebuffer_end",
                "seek",
                "pause",
                "resume",
                "heartbeat",
                "error",
                "heartbeat",
                "ended",
                "view_end",
                "page_view",
                "custom",
                "identify"
            ]
        );

        let body = outbox.take_batch(0.0).expect("a batch");
        let batch = event_schema::parse_batch(body.as_bytes(), NOW_MS, || String::from("edge-eid"))
            .expect("a valid batch");
        assert_eq!(batch.rejected, []);
        assert_eq!(batch.accepted.len(), types.len());
        let read = |n: usize| &batch.accepted[n].1;
        assert_eq!(
            read(8).played.as_deref(),
            Some(&[[0.0, 1.25], [30.0, 31.0]][..])
        );
        assert_eq!(read(9).error_message.as_deref(), Some("decode \"error\"\n"));
        assert_eq!(read(9).fatal, Some(true));
        assert_eq!(
            read(0).content_title.as_deref(),
            Some("Big Buck Bunny «4K»")
        );
        assert_eq!(read(0).duration_s, Some(596.48));
        assert_eq!(read(1).height, Some(720));
        assert_eq!(read(15).user_id.as_deref(), Some("user-7"));
        assert_eq!(read(14).name.as_deref(), Some("share"));
    }

    #[test]
    fn view_boundaries_and_errors_are_sent_at_once() {
        let at_once: Vec<&str> = EventType::ALL
            .into_iter()
            .filter(|t| sends_at_once(*t))
            .map(EventType::as_str)
            .collect();
        assert_eq!(at_once, ["view_start", "error", "ended", "view_end"]);
    }
}
