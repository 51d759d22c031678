//! One `<video>` element's view tracking, as a state machine over media signals. Platform-free: the
//! browser glue feeds it signals with the element's position and the wall clock, and sends the drafts
//! it returns.

use event_schema::EventType;
use serde_json::{json, Map, Value};

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
    pub fields: Map<String, Value>,
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
                    out.push(self.draft(EventType::ViewStart, position_s, Map::new()));
                } else if self.paused {
                    out.push(self.draft(EventType::Resume, position_s, Map::new()));
                }
                self.paused = false;
            }
            MediaSignal::TimeUpdate | MediaSignal::Playing => {
                if self.view_id.is_none() || self.paused || self.seeking {
                    return out;
                }
                if let Some(since) = self.stall_since_ms.take() {
                    self.rebuffer_ms += now_ms - since;
                    out.push(self.draft(EventType::RebufferEnd, position_s, Map::new()));
                    self.last_progress_ms = Some(now_ms);
                }
                if signal == MediaSignal::Playing {
                    return out;
                }
                let moving = position_s > self.last_position_s || self.playing;
                if !self.first_frame_sent && position_s > self.intent_position_s {
                    self.first_frame_sent = true;
                    let ttff = (now_ms - self.intent_ms.unwrap_or(now_ms)).max(0.0).round();
                    let mut fields = Map::new();
                    fields.insert("ttff_ms".into(), json!(ttff as i64));
                    out.push(self.draft(EventType::FirstFrame, position_s, fields));
                }
                if moving {
                    self.advance(position_s, now_ms);
                }
            }
            MediaSignal::Pause => {
                if self.view_id.is_some() && !self.ended && !self.paused {
                    self.stop_progress(now_ms);
                    self.paused = true;
                    out.push(self.draft(EventType::Pause, position_s, Map::new()));
                }
            }
            MediaSignal::Waiting => {
                if self.playing && !self.seeking && self.stall_since_ms.is_none() {
                    self.stop_progress(now_ms);
                    self.stall_since_ms = Some(now_ms);
                    out.push(self.draft(EventType::RebufferStart, position_s, Map::new()));
                }
            }
            MediaSignal::Seeking => {
                if self.view_id.is_some() && !self.seeking {
                    self.stop_progress(now_ms);
                    self.stall_since_ms = None;
                    self.seeking = true;
                }
            }
            MediaSignal::Seeked => {
                if self.view_id.is_some() && self.seeking {
                    self.seeking = false;
                    let mut fields = Map::new();
                    fields.insert("from_s".into(), json!(self.last_position_s));
                    self.last_position_s = position_s;
                    out.push(self.draft(EventType::Seek, position_s, fields));
                }
            }
            MediaSignal::Ended => {
                if self.view_id.is_some() && !self.ended {
                    self.advance(position_s, now_ms);
                    self.stop_progress(now_ms);
                    out.extend(self.heartbeat(position_s));
                    self.ended = true;
                    out.push(self.draft(EventType::Ended, position_s, Map::new()));
                }
            }
            MediaSignal::Error { code, message } => {
                let mut fields = Map::new();
                fields.insert("error_code".into(), json!(code));
                fields.insert("error_message".into(), json!(message));
                fields.insert("fatal".into(), json!(true));
                if self.view_id.is_none() {
                    self.view_id = Some(new_id());
                    out.push(self.draft(EventType::ViewStart, position_s, Map::new()));
                }
                self.stop_progress(now_ms);
                out.push(self.draft(EventType::Error, position_s, fields));
            }
            MediaSignal::Resize { width, height } => {
                if self.view_id.is_some() && width > 0 && height > 0 {
                    let mut fields = Map::new();
                    fields.insert("width".into(), json!(width));
                    fields.insert("height".into(), json!(height));
                    out.push(self.draft(EventType::QualityChange, position_s, fields));
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
        out.push(self.draft(EventType::ViewEnd, position_s, Map::new()));
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
        let mut fields = Map::new();
        fields.insert("watched_ms".into(), json!(self.watched_ms.round() as i64));
        fields.insert("rebuffer_ms".into(), json!(self.rebuffer_ms.round() as i64));
        fields.insert("played".into(), json!(std::mem::take(&mut self.played)));
        self.watched_ms = 0.0;
        self.rebuffer_ms = 0.0;
        vec![self.draft(EventType::Heartbeat, position_s, fields)]
    }

    fn draft(
        &self,
        event_type: EventType,
        position_s: f64,
        mut fields: Map<String, Value>,
    ) -> Draft {
        if let Some(view_id) = &self.view_id {
            fields.insert("view_id".into(), json!(view_id));
        }
        fields.insert("position_s".into(), json!(round3(position_s)));
        Draft { event_type, fields }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

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

        fn sum(&self, field: &str) -> i64 {
            self.events
                .iter()
                .filter_map(|d| d.fields.get(field)?.as_i64())
                .sum()
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
        assert_eq!(c.events[1].fields["ttff_ms"], json!(500));
        assert_eq!(c.sum("watched_ms"), 10_000);
        assert_eq!(c.events[2].fields["played"], json!([[0.0, 10.1]]));
        assert!(c
            .events
            .iter()
            .all(|d| d.fields["view_id"] == json!("view-1")));
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
        assert_eq!(c.sum("rebuffer_ms"), 2_000);
        let played = &c.events[5].fields["played"];
        assert_eq!(played, &json!([[0.0, 1.2], [1.2, 1.4], [30.0, 31.2]]));
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
        assert_eq!(c.sum("watched_ms"), 3_000);
        assert!(c.tracker.view_id().is_none());
    }

    #[test]
    fn replay_after_ended_is_a_new_view() {
        let mut c = Clip::new();
        c.at(0.0, 0.0, MediaSignal::Play);
        c.at(100.0, 0.1, MediaSignal::TimeUpdate);
        c.at(1_100.0, 1.1, MediaSignal::Ended);
        c.at(2_000.0, 0.0, MediaSignal::Play);
        let views: Vec<&Value> = c.events.iter().map(|d| &d.fields["view_id"]).collect();
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
        assert_eq!(views[0], &json!("view-1"));
        assert_eq!(views[5], &json!("view-2"));
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
        assert_eq!(c.events[1].fields["height"], json!(720));
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
        assert_eq!(c.events[1].fields["fatal"], json!(true));
    }
}
