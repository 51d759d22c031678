//! One `<video>` element's view tracking, as a state machine over media signals. Platform-free: the
//! browser glue feeds it signals with the element's position and the wall clock, and sends the drafts
//! it returns.

use crate::json::{round_i64, write_num, JsonObject};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use event_schema::EventType;

/// What the media element reported.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaSignal {
    /// The viewer asked to play (`play`).
    Play,
    /// The playhead moved (`timeupdate`).
    TimeUpdate,
    /// Playback paused (`pause`).
    Pause,
    /// Playback stalled for data (`waiting`).
    Waiting,
    /// Playback can go on after a stall (`playing`).
    Playing,
    /// A seek began (`seeking`).
    Seeking,
    /// A seek ended (`seeked`).
    Seeked,
    /// The media reached its end (`ended`).
    Ended,
    /// A media error.
    Error { code: String, message: String },
    /// The rendition's size changed (`resize`); a quality change once playing.
    Resize { width: u32, height: u32 },
    /// The 10-second heartbeat timer.
    Heartbeat,
}

/// An event for the browser layer to complete (ids, content, page) and send.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub event_type: EventType,
    pub view_id: Option<String>,
    /// The playhead, rounded to milliseconds.
    pub position_s: f64,
    pub detail: Detail,
}

/// The fields particular to a draft's event type.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    None,
    FirstFrame {
        ttff_ms: i64,
    },
    Seek {
        from_s: f64,
        /// From `seeking` to `seeked`: Mux's seek latency.
        seek_ms: i64,
    },
    Error {
        code: String,
        message: String,
    },
    QualityChange {
        width: u32,
        height: u32,
    },
    Heartbeat {
        watched_ms: i64,
        rebuffer_ms: i64,
        /// Played ranges `[from_s, to_s]`, rounded to milliseconds.
        played: Vec<[f64; 2]>,
    },
}

impl Draft {
    /// Writes the draft's fields (view, position, and its type's own) as JSON.
    pub fn write_fields(&self, out: &mut JsonObject) {
        if let Some(view_id) = &self.view_id {
            out.str("view_id", view_id);
        }
        out.num("position_s", self.position_s);
        match &self.detail {
            Detail::None => {}
            Detail::FirstFrame { ttff_ms } => out.int("ttff_ms", *ttff_ms),
            Detail::Seek { from_s, seek_ms } => {
                out.num("from_s", *from_s);
                out.int("seek_ms", *seek_ms);
            }
            Detail::Error { code, message } => {
                out.str("error_code", code);
                out.str("error_message", message);
                out.yes("fatal");
            }
            Detail::QualityChange { width, height } => {
                out.int("width", i64::from(*width));
                out.int("height", i64::from(*height));
            }
            Detail::Heartbeat {
                watched_ms,
                rebuffer_ms,
                played,
            } => {
                out.int("watched_ms", *watched_ms);
                out.int("rebuffer_ms", *rebuffer_ms);
                let mut ranges = String::from("[");
                for (i, [from_s, to_s]) in played.iter().enumerate() {
                    if i > 0 {
                        ranges.push(',');
                    }
                    ranges.push('[');
                    write_num(&mut ranges, *from_s);
                    ranges.push(',');
                    write_num(&mut ranges, *to_s);
                    ranges.push(']');
                }
                ranges.push(']');
                out.raw("played", &ranges);
            }
        }
    }
}

/// A playhead jump larger than this without a seek is a discontinuity (new played range).
const MAX_CONTINUOUS_JUMP_S: f64 = 3.0;

/// The state of the current view of one element.
#[derive(Debug, Default)]
pub struct ViewTracker {
    view_id: Option<String>,
    intent_ms: Option<f64>,
    intent_position_s: f64,
    first_frame_sent: bool,
    /// The playhead is moving.
    playing: bool,
    paused: bool,
    seeking: bool,
    /// When the current seek began.
    seeking_since_ms: f64,
    ended: bool,
    stall_since_ms: Option<f64>,
    last_progress_ms: Option<f64>,
    watched_ms: f64,
    rebuffer_ms: f64,
    range_start_s: Option<f64>,
    last_position_s: f64,
    played: Vec<[f64; 2]>,
}

impl ViewTracker {
    /// The current view id, if a view is open.
    pub fn view_id(&self) -> Option<&str> {
        self.view_id.as_deref()
    }

    /// Feeds one signal; returns the events it causes.
    pub fn on(
        &mut self,
        signal: MediaSignal,
        position_s: f64,
        now_ms: f64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Draft> {
        let mut out = Vec::new();
        match signal {
            MediaSignal::Play => {
                if self.view_id.is_none() || self.ended {
                    if self.ended {
                        out.extend(self.end_view(position_s, now_ms));
                    }
                    self.view_id = Some(new_id());
                    self.intent_ms = Some(now_ms);
                    self.intent_position_s = position_s;
                    self.last_position_s = position_s;
                    out.push(self.draft(EventType::ViewStart, position_s, Detail::None));
                } else if self.paused {
                    out.push(self.draft(EventType::Resume, position_s, Detail::None));
                }
                self.paused = false;
            }
            MediaSignal::TimeUpdate | MediaSignal::Playing => {
                if self.view_id.is_none() || self.paused || self.seeking {
                    return out;
                }
                if let Some(since) = self.stall_since_ms.take() {
                    self.rebuffer_ms += now_ms - since;
                    out.push(self.draft(EventType::RebufferEnd, position_s, Detail::None));
                    self.last_progress_ms = Some(now_ms);
                }
                if signal == MediaSignal::Playing {
                    return out;
                }
                let moving = position_s > self.last_position_s || self.playing;
                if !self.first_frame_sent && position_s > self.intent_position_s {
                    self.first_frame_sent = true;
                    let ttff_ms = round_i64((now_ms - self.intent_ms.unwrap_or(now_ms)).max(0.0));
                    out.push(self.draft(
                        EventType::FirstFrame,
                        position_s,
                        Detail::FirstFrame { ttff_ms },
                    ));
                }
                if moving {
                    self.advance(position_s, now_ms);
                }
            }
            MediaSignal::Pause => {
                if self.view_id.is_some() && !self.ended && !self.paused {
                    self.stop_progress(now_ms);
                    self.paused = true;
                    out.push(self.draft(EventType::Pause, position_s, Detail::None));
                }
            }
            MediaSignal::Waiting => {
                if self.playing && !self.seeking && self.stall_since_ms.is_none() {
                    self.stop_progress(now_ms);
                    self.stall_since_ms = Some(now_ms);
                    out.push(self.draft(EventType::RebufferStart, position_s, Detail::None));
                }
            }
            MediaSignal::Seeking => {
                if self.view_id.is_some() && !self.seeking {
                    self.stop_progress(now_ms);
                    self.stall_since_ms = None;
                    self.seeking = true;
                    self.seeking_since_ms = now_ms;
                }
            }
            MediaSignal::Seeked => {
                if self.view_id.is_some() && self.seeking {
                    self.seeking = false;
                    let from_s = self.last_position_s;
                    self.last_position_s = position_s;
                    let seek_ms = (now_ms - self.seeking_since_ms).max(0.0) as i64;
                    let detail = Detail::Seek { from_s, seek_ms };
                    out.push(self.draft(EventType::Seek, position_s, detail));
                }
            }
            MediaSignal::Ended => {
                if self.view_id.is_some() && !self.ended {
                    self.advance(position_s, now_ms);
                    self.stop_progress(now_ms);
                    out.extend(self.heartbeat(position_s));
                    self.ended = true;
                    out.push(self.draft(EventType::Ended, position_s, Detail::None));
                }
            }
            MediaSignal::Error { code, message } => {
                if self.view_id.is_none() {
                    self.view_id = Some(new_id());
                    out.push(self.draft(EventType::ViewStart, position_s, Detail::None));
                }
                self.stop_progress(now_ms);
                out.push(self.draft(
                    EventType::Error,
                    position_s,
                    Detail::Error { code, message },
                ));
            }
            MediaSignal::Resize { width, height } => {
                if self.view_id.is_some() && width > 0 && height > 0 {
                    out.push(self.draft(
                        EventType::QualityChange,
                        position_s,
                        Detail::QualityChange { width, height },
                    ));
                }
            }
            MediaSignal::Heartbeat => {
                if self.playing {
                    self.advance(position_s, now_ms);
                }
                if let Some(since) = self.stall_since_ms {
                    self.rebuffer_ms += now_ms - since;
                    self.stall_since_ms = Some(now_ms);
                }
                out.extend(self.heartbeat(position_s));
            }
        }
        out
    }

    /// Closes the current view (content change, detach, page hide): final deltas and `view_end`.
    pub fn end_view(&mut self, position_s: f64, now_ms: f64) -> Vec<Draft> {
        if self.view_id.is_none() {
            return Vec::new();
        }
        if self.playing {
            self.advance(position_s, now_ms);
        }
        self.stop_progress(now_ms);
        if let Some(since) = self.stall_since_ms.take() {
            self.rebuffer_ms += now_ms - since;
        }
        let mut out = self.heartbeat(position_s);
        out.push(self.draft(EventType::ViewEnd, position_s, Detail::None));
        *self = ViewTracker::default();
        out
    }

    /// Accounts watch time and the played range up to `position_s`.
    fn advance(&mut self, position_s: f64, now_ms: f64) {
        if let Some(last) = self.last_progress_ms {
            self.watched_ms += (now_ms - last).max(0.0);
        }
        let jump = position_s - self.last_position_s;
        match self.range_start_s {
            // The playhead moved on continuously: the open range grows.
            Some(_) if (0.0..=MAX_CONTINUOUS_JUMP_S).contains(&jump) => {}
            Some(start) => {
                self.close_range(start, self.last_position_s);
                self.range_start_s = Some(position_s);
            }
            None => self.range_start_s = Some(self.last_position_s.min(position_s)),
        }
        self.last_position_s = position_s;
        self.last_progress_ms = Some(now_ms);
        self.playing = true;
    }

    fn stop_progress(&mut self, now_ms: f64) {
        if let Some(last) = self.last_progress_ms.take() {
            if self.playing {
                self.watched_ms += (now_ms - last).max(0.0);
            }
        }
        if let Some(start) = self.range_start_s.take() {
            self.close_range(start, self.last_position_s);
        }
        self.playing = false;
    }

    fn close_range(&mut self, from_s: f64, to_s: f64) {
        if to_s > from_s {
            self.played.push([round3(from_s), round3(to_s)]);
        }
    }

    /// A heartbeat with the deltas since the last one, if there are any; resets them.
    fn heartbeat(&mut self, position_s: f64) -> Vec<Draft> {
        if let Some(start) = self.range_start_s {
            self.close_range(start, self.last_position_s);
            self.range_start_s = Some(self.last_position_s);
        }
        if self.watched_ms < 1.0 && self.rebuffer_ms < 1.0 && self.played.is_empty() {
            return Vec::new();
        }
        let detail = Detail::Heartbeat {
            watched_ms: round_i64(self.watched_ms),
            rebuffer_ms: round_i64(self.rebuffer_ms),
            played: core::mem::take(&mut self.played),
        };
        self.watched_ms = 0.0;
        self.rebuffer_ms = 0.0;
        vec![self.draft(EventType::Heartbeat, position_s, detail)]
    }

    fn draft(&self, event_type: EventType, position_s: f64, detail: Detail) -> Draft {
        Draft {
            event_type,
            view_id: self.view_id.clone(),
            position_s: round3(position_s),
            detail,
        }
    }
}

fn round3(x: f64) -> f64 {
    round_i64(x * 1000.0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use serde_json::json;

    struct Clip {
        tracker: ViewTracker,
        ids: u32,
        events: Vec<Draft>,
    }

    impl Clip {
        fn new() -> Clip {
            Clip {
                tracker: ViewTracker::default(),
                ids: 0,
                events: Vec::new(),
            }
        }

        fn at(&mut self, now_ms: f64, position_s: f64, signal: MediaSignal) {
            let ids = &mut self.ids;
            let mut new_id = || {
                *ids += 1;
                format!("view-{ids}")
            };
            let drafts = self.tracker.on(signal, position_s, now_ms, &mut new_id);
            self.events.extend(drafts);
        }

        fn types(&self) -> Vec<&'static str> {
            self.events.iter().map(|d| d.event_type.as_str()).collect()
        }

        /// Total watch and rebuffer time over the heartbeats.
        fn totals_ms(&self) -> (i64, i64) {
            self.events
                .iter()
                .fold((0, 0), |(w, r), d| match &d.detail {
                    Detail::Heartbeat {
                        watched_ms,
                        rebuffer_ms,
                        ..
                    } => (w + watched_ms, r + rebuffer_ms),
                    _ => (w, r),
                })
        }

        fn played(&self, i: usize) -> &[[f64; 2]] {
            match &self.events[i].detail {
                Detail::Heartbeat { played, .. } => played,
                other => panic!("not a heartbeat: {other:?}"),
            }
        }
    }

    #[test]
    fn play_measures_time_to_first_frame_and_watch_time() {
        let mut c = Clip::new();
        c.at(1_000.0, 0.0, MediaSignal::Play);
        c.at(1_400.0, 0.0, MediaSignal::TimeUpdate); // not moving yet
        c.at(1_500.0, 0.1, MediaSignal::TimeUpdate);
        for i in 1..=40 {
            c.at(
                1_500.0 + 250.0 * f64::from(i),
                0.1 + 0.25 * f64::from(i),
                MediaSignal::TimeUpdate,
            );
        }
        c.at(11_500.0, 10.1, MediaSignal::Heartbeat);
        assert_eq!(c.types(), vec!["view_start", "first_frame", "heartbeat"]);
        assert_eq!(c.events[1].detail, Detail::FirstFrame { ttff_ms: 500 });
        assert_eq!(c.totals_ms().0, 10_000);
        assert_eq!(c.played(2), [[0.0, 10.1]]);
        assert!(c
            .events
            .iter()
            .all(|d| d.view_id.as_deref() == Some("view-1")));
    }

    #[test]
    fn stalls_are_rebuffering_but_seeks_are_not() {
        let mut c = Clip::new();
        c.at(0.0, 0.0, MediaSignal::Play);
        c.at(200.0, 0.2, MediaSignal::TimeUpdate);
        c.at(1_200.0, 1.2, MediaSignal::TimeUpdate);
        c.at(1_300.0, 1.2, MediaSignal::Waiting);
        c.at(3_300.0, 1.2, MediaSignal::Playing);
        c.at(3_500.0, 1.4, MediaSignal::TimeUpdate);
        c.at(3_600.0, 1.4, MediaSignal::Seeking);
        c.at(3_650.0, 1.4, MediaSignal::Waiting); // buffering for the seek: not a stall
        c.at(4_600.0, 30.0, MediaSignal::Seeked);
        c.at(4_800.0, 30.2, MediaSignal::TimeUpdate);
        c.at(5_800.0, 31.2, MediaSignal::Heartbeat);
        assert_eq!(
            c.types(),
            vec![
                "view_start",
                "first_frame",
                "rebuffer_start",
                "rebuffer_end",
                "seek",
                "heartbeat"
            ]
        );
        assert_eq!(c.totals_ms().1, 2_000);
        assert_eq!(c.played(5), [[0.0, 1.2], [1.2, 1.4], [30.0, 31.2]]);
        assert_eq!(
            c.events[4].detail,
            Detail::Seek {
                from_s: 1.4,
                seek_ms: 1_000
            }
        );
    }

    #[test]
    fn pause_and_resume_do_not_count_watch_time() {
        let mut c = Clip::new();
        c.at(0.0, 0.0, MediaSignal::Play);
        c.at(100.0, 0.1, MediaSignal::TimeUpdate);
        c.at(2_100.0, 2.1, MediaSignal::TimeUpdate);
        c.at(2_100.0, 2.1, MediaSignal::Pause);
        c.at(60_000.0, 2.1, MediaSignal::Play);
        c.at(60_100.0, 2.2, MediaSignal::TimeUpdate);
        c.at(61_100.0, 3.2, MediaSignal::TimeUpdate);
        let end = c.tracker.end_view(3.2, 61_100.0);
        c.events.extend(end);
        assert_eq!(
            c.types(),
            vec![
                "view_start",
                "first_frame",
                "pause",
                "resume",
                "heartbeat",
                "view_end"
            ]
        );
        assert_eq!(c.totals_ms().0, 3_000);
        assert!(c.tracker.view_id().is_none());
    }

    #[test]
    fn replay_after_ended_is_a_new_view() {
        let mut c = Clip::new();
        c.at(0.0, 0.0, MediaSignal::Play);
        c.at(100.0, 0.1, MediaSignal::TimeUpdate);
        c.at(1_100.0, 1.1, MediaSignal::Ended);
        c.at(2_000.0, 0.0, MediaSignal::Play);
        let views: Vec<Option<&str>> = c.events.iter().map(|d| d.view_id.as_deref()).collect();
        assert_eq!(
            c.types(),
            vec![
                "view_start",
                "first_frame",
                "heartbeat",
                "ended",
                "view_end",
                "view_start"
            ]
        );
        assert_eq!(views[0], Some("view-1"));
        assert_eq!(views[5], Some("view-2"));
    }

    #[test]
    fn rendition_changes_during_a_view_are_quality_changes() {
        let mut c = Clip::new();
        c.at(
            0.0,
            0.0,
            MediaSignal::Resize {
                width: 640,
                height: 360,
            },
        ); // before play: no view yet
        c.at(10.0, 0.0, MediaSignal::Play);
        c.at(
            500.0,
            0.2,
            MediaSignal::Resize {
                width: 1280,
                height: 720,
            },
        );
        assert_eq!(c.types(), vec!["view_start", "quality_change"]);
        assert_eq!(
            c.events[1].detail,
            Detail::QualityChange {
                width: 1280,
                height: 720
            }
        );
    }

    #[test]
    fn errors_are_fatal_and_open_a_view_if_needed() {
        let mut c = Clip::new();
        c.at(
            0.0,
            0.0,
            MediaSignal::Error {
                code: "4".into(),
                message: "unsupported".into(),
            },
        );
        assert_eq!(c.types(), vec!["view_start", "error"]);
        assert_eq!(
            c.events[1].detail,
            Detail::Error {
                code: "4".into(),
                message: "unsupported".into()
            }
        );
    }

    fn fields_json(draft: &Draft) -> serde_json::Value {
        let mut out = JsonObject::new();
        draft.write_fields(&mut out);
        serde_json::from_str(&out.finish()).expect("valid JSON")
    }

    #[test]
    fn drafts_write_the_contract_field_names() {
        let heartbeat = Draft {
            event_type: EventType::Heartbeat,
            view_id: Some("v1".into()),
            position_s: 10.1,
            detail: Detail::Heartbeat {
                watched_ms: 10_000,
                rebuffer_ms: 0,
                played: vec![[0.0, 1.2], [30.0, 31.25]],
            },
        };
        assert_eq!(
            fields_json(&heartbeat),
            json!({"view_id": "v1", "position_s": 10.1, "watched_ms": 10_000, "rebuffer_ms": 0,
                   "played": [[0, 1.2], [30, 31.25]]})
        );
        let error = Draft {
            event_type: EventType::Error,
            view_id: None,
            position_s: 0.0,
            detail: Detail::Error {
                code: "4".into(),
                message: "bad \"src\"".into(),
            },
        };
        assert_eq!(
            fields_json(&error),
            json!({"position_s": 0, "error_code": "4", "error_message": "bad \"src\"", "fatal": true})
        );
        let mut other = error.clone();
        other.detail = Detail::FirstFrame { ttff_ms: 500 };
        assert_eq!(fields_json(&other)["ttff_ms"], json!(500));
        other.detail = Detail::Seek {
            from_s: 1.4,
            seek_ms: 250,
        };
        assert_eq!(fields_json(&other)["seek_ms"], json!(250));
        assert_eq!(fields_json(&other)["from_s"], json!(1.4));
        other.detail = Detail::QualityChange {
            width: 1280,
            height: 720,
        };
        assert_eq!(fields_json(&other)["width"], json!(1280));
        assert_eq!(fields_json(&other)["height"], json!(720));
    }
}
