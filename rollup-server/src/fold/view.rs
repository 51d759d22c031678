//! Views as mergeable state: how playback events become views, with no database in sight.
//!
//! A view is the events of one `view_id` (bots left out), split into segments where more than
//! [`VIEW_IDLE_MS`] pass without an event. Each segment is kept as an aggregate ([`Segment`]) that can
//! absorb one more event or merge with another segment in any order, so a load folds its events into
//! the stored state of the views it touches without reading their earlier events again, and decoding
//! threads can fold objects independently and merge at the end.
//!
//! Rules (docs/api.md defines the metrics on top of them):
//! - a `view_id` without any `view_start` is no view;
//! - segment 0 is a view; a later segment is one only if playback happened in it (a `view_start`, a
//!   `first_frame`, or watched time), so a lone `view_end` sent after a long idle is none;
//! - a view reached its first frame if it had a `first_frame`, or is a later segment that played;
//! - dimensions (content, session, page, UA, geo, props) are those of the segment's first event (by
//!   client time, then event id), so they never depend on the order events arrive in; `user_id` is
//!   the greatest seen; sums and flags cover every event.

/// More than this many ms without an event ends a view (the next event starts a new segment).
use crate::decode::line::LakeEvent;

pub const VIEW_IDLE_MS: i64 = 30 * 60 * 1000;

/// The kinds of event the view rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewEventKind {
    ViewStart,
    FirstFrame,
    RebufferStart,
    Error,
    Seek,
    /// `ended` or `view_end`.
    End,
    Other,
}

impl ViewEventKind {
    /// The kind of an event type name.
    pub fn of(event_type: &str) -> ViewEventKind {
        match event_type {
            "view_start" => ViewEventKind::ViewStart,
            "first_frame" => ViewEventKind::FirstFrame,
            "rebuffer_start" => ViewEventKind::RebufferStart,
            "error" => ViewEventKind::Error,
            "seek" => ViewEventKind::Seek,
            "ended" | "view_end" => ViewEventKind::End,
            _ => ViewEventKind::Other,
        }
    }
}

/// One playback event, as the view rules need it (borrowed from a decoded line).
#[derive(Debug, Clone, Default)]
pub struct ViewEvent<'a> {
    pub eid: &'a str,
    pub ts: i64,
    pub received_at: i64,
    pub kind: Option<ViewEventKind>,
    pub fatal: bool,
    /// An `error` flagged as a business exception (a paywall, a geo block: not a failure).
    pub business_exception: bool,
    /// A `seek`'s time from seeking to playable again.
    pub seek_ms: Option<i64>,
    pub user_id: Option<&'a str>,
    pub ttff_ms: Option<i64>,
    pub watched_ms: Option<i64>,
    pub rebuffer_ms: Option<i64>,
    pub position_s: Option<f64>,
    pub duration_s: Option<f64>,
    /// The values of its dimensions, by [`Dim`].
    pub dims: [Option<&'a str>; DIMS],
    /// Media-time ranges `[from_s, to_s]` played.
    pub played: &'a [[f64; 2]],
}

/// Declares the dimensions a segment takes from its first event: each one's name, its column in
/// `view_segments`, and how it is read off a lake event. The fold, the store's write and read, and
/// the columns they name all come from this one list.
macro_rules! dimensions {
    ($($dim:ident => $column:literal, |$e:ident| $value:expr;)*) => {
        /// A dimension a segment takes from its first event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Dim {
            $($dim),*
        }

        impl Dim {
            /// Every dimension, in declaration order (`d as usize` is its place here).
            pub const ALL: [Dim; [$($column),*].len()] = [$(Dim::$dim),*];

            /// Its column in `view_segments`.
            pub const fn column(self) -> &'static str {
                match self {
                    $(Dim::$dim => $column),*
                }
            }
        }

        /// The dimension values of a lake event, by [`Dim`].
        pub fn dims_of<'e>(event: &'e LakeEvent<'_>) -> [Option<&'e str>; DIMS] {
            [$({
                let $e = event;
                $value
            }),*]
        }
    };
}

dimensions! {
    ContentId => "content_id", |e| e.content_id.as_deref();
    ContentType => "content_type", |e| e.content_type.as_deref();
    SessionId => "session_id", |e| e.session_id.as_deref();
    AnonymousId => "anonymous_id", |e| e.anonymous_id.as_deref();
    PageUrl => "page_url", |e| e.page_url.as_deref();
    Browser => "browser", |e| e.browser.as_deref();
    Os => "os", |e| e.os.as_deref();
    DeviceType => "device_type", |e| e.device_type.as_deref();
    // The device's model, else its brand.
    Device => "device", |e| e.device_model.as_deref().or(e.device_brand.as_deref());
    Continent => "continent", |e| e.continent.as_deref();
    Country => "country", |e| e.country.as_deref();
    Subdivision => "subdivision", |e| e.subdivision.as_deref();
    Timezone => "timezone", |e| e.timezone.as_deref();
    // The props object as JSON text.
    Props => "props", |e| e.props.map(|p| p.0);
    PlayerName => "player_name", |e| e.player_name.as_deref();
}

/// How many dimensions a segment has.
pub const DIMS: usize = Dim::ALL.len();

/// The dimensions a segment takes from its first event, by [`Dim`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentDims(pub [Option<String>; DIMS]);

impl SegmentDims {
    fn of_event(e: &ViewEvent<'_>) -> SegmentDims {
        SegmentDims(e.dims.map(owned))
    }

    /// One dimension's value.
    pub fn get(&self, dim: Dim) -> Option<&str> {
        self.0[dim as usize].as_deref()
    }
}

/// One segment of a view: everything its events add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    /// Client time of the first and last event.
    pub started_ms: i64,
    pub last_ms: i64,
    /// The first event's id (orders events of the same millisecond).
    pub first_eid: String,
    /// Edge time of the latest event received.
    pub last_received_ms: i64,
    pub dims: SegmentDims,
    pub user_id: Option<String>,
    /// Smallest time to first frame reported by a `first_frame`.
    pub ttff_ms: Option<i64>,
    pub watched_ms: i64,
    pub rebuffer_ms: i64,
    pub rebuffer_count: i64,
    /// A fatal error of any kind.
    pub fatal_error: bool,
    /// A fatal error that is no business exception (Mux's playback failure).
    pub playback_failure: bool,
    /// A fatal error flagged as a business exception.
    pub business_exception: bool,
    /// Seeks that reported their time (`seek_ms`), and that time summed.
    pub seek_count: i64,
    pub seek_ms: i64,
    pub has_first_frame: bool,
    pub has_view_start: bool,
    pub ended: bool,
    pub furthest_position_s: Option<f64>,
    pub duration_s: Option<f64>,
    /// Played media ranges, sorted and merged where they touch or overlap.
    pub ranges: Vec<(f64, f64)>,
}

fn owned(value: Option<&str>) -> Option<String> {
    value.map(str::to_owned)
}

fn max_f64(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn min_i64(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The seek time an event adds: a `seek`'s `seek_ms`.
fn seek_ms(kind: ViewEventKind, e: &ViewEvent<'_>) -> i64 {
    match (kind, e.seek_ms) {
        (ViewEventKind::Seek, Some(ms)) => ms,
        _ => 0,
    }
}

/// Sorts ranges and merges those that touch or overlap.
pub fn merge_ranges(ranges: &mut Vec<(f64, f64)>) {
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(ranges.len());
    for &(from, to) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    *ranges = merged;
}

impl Segment {
    /// The segment of a single event.
    pub fn of_event(e: &ViewEvent<'_>) -> Segment {
        let kind = e.kind.unwrap_or(ViewEventKind::Other);
        let mut ranges: Vec<(f64, f64)> = e
            .played
            .iter()
            .filter(|r| r[1] > r[0])
            .map(|r| (r[0], r[1]))
            .collect();
        if ranges.len() > 1 {
            merge_ranges(&mut ranges);
        }
        Segment {
            started_ms: e.ts,
            last_ms: e.ts,
            first_eid: e.eid.to_owned(),
            last_received_ms: e.received_at,
            dims: SegmentDims::of_event(e),
            user_id: owned(e.user_id),
            ttff_ms: if kind == ViewEventKind::FirstFrame {
                e.ttff_ms
            } else {
                None
            },
            watched_ms: e.watched_ms.unwrap_or(0),
            rebuffer_ms: e.rebuffer_ms.unwrap_or(0),
            rebuffer_count: i64::from(kind == ViewEventKind::RebufferStart),
            fatal_error: kind == ViewEventKind::Error && e.fatal,
            playback_failure: kind == ViewEventKind::Error && e.fatal && !e.business_exception,
            business_exception: kind == ViewEventKind::Error && e.fatal && e.business_exception,
            seek_count: i64::from(kind == ViewEventKind::Seek && e.seek_ms.is_some()),
            seek_ms: seek_ms(kind, e),
            has_first_frame: kind == ViewEventKind::FirstFrame,
            has_view_start: kind == ViewEventKind::ViewStart,
            ended: kind == ViewEventKind::End,
            furthest_position_s: e.position_s,
            duration_s: e.duration_s,
            ranges,
        }
    }

    /// True if this segment's first event comes before `other`'s.
    fn starts_before(&self, other: &Segment) -> bool {
        (self.started_ms, self.first_eid.as_str()) <= (other.started_ms, other.first_eid.as_str())
    }

    /// Adds one event to this segment in place (in either time order), allocating only for what
    /// the segment did not have yet.
    pub fn absorb_event(&mut self, e: &ViewEvent<'_>) {
        let kind = e.kind.unwrap_or(ViewEventKind::Other);
        if (e.ts, e.eid) < (self.started_ms, self.first_eid.as_str()) {
            // The new first event: its dimensions become the segment's.
            self.started_ms = e.ts;
            self.first_eid = e.eid.to_owned();
            self.dims = SegmentDims::of_event(e);
        }
        self.last_ms = self.last_ms.max(e.ts);
        self.last_received_ms = self.last_received_ms.max(e.received_at);
        if e.user_id > self.user_id.as_deref() {
            self.user_id = e.user_id.map(str::to_owned);
        }
        if kind == ViewEventKind::FirstFrame {
            self.ttff_ms = min_i64(self.ttff_ms, e.ttff_ms);
            self.has_first_frame = true;
        }
        // Saturating: the edge bounds each value, but a sum must not wrap whatever reached the lake.
        self.watched_ms = self.watched_ms.saturating_add(e.watched_ms.unwrap_or(0));
        self.rebuffer_ms = self.rebuffer_ms.saturating_add(e.rebuffer_ms.unwrap_or(0));
        self.rebuffer_count = self
            .rebuffer_count
            .saturating_add(i64::from(kind == ViewEventKind::RebufferStart));
        self.fatal_error |= kind == ViewEventKind::Error && e.fatal;
        self.playback_failure |= kind == ViewEventKind::Error && e.fatal && !e.business_exception;
        self.business_exception |= kind == ViewEventKind::Error && e.fatal && e.business_exception;
        self.seek_count = self.seek_count.saturating_add(i64::from(
            kind == ViewEventKind::Seek && e.seek_ms.is_some(),
        ));
        self.seek_ms = self.seek_ms.saturating_add(seek_ms(kind, e));
        self.has_view_start |= kind == ViewEventKind::ViewStart;
        self.ended |= kind == ViewEventKind::End;
        self.furthest_position_s = max_f64(self.furthest_position_s, e.position_s);
        self.duration_s = max_f64(self.duration_s, e.duration_s);
        for r in e.played.iter().filter(|r| r[1] > r[0]) {
            match self.ranges.last_mut() {
                // The common case: a heartbeat continuing the previous range.
                Some(last) if r[0] >= last.0 && r[0] <= last.1 => last.1 = last.1.max(r[1]),
                Some(last) if r[0] > last.1 => self.ranges.push((r[0], r[1])),
                None => self.ranges.push((r[0], r[1])),
                Some(_) => {
                    self.ranges.push((r[0], r[1]));
                    merge_ranges(&mut self.ranges);
                }
            }
        }
    }

    /// Adds `other`'s events to this segment (in either time order).
    pub fn absorb(&mut self, mut other: Segment) {
        if !self.starts_before(&other) {
            std::mem::swap(self, &mut other);
        }
        // `self` now starts first: its dimensions stay.
        let later = other;
        self.last_ms = self.last_ms.max(later.last_ms);
        self.last_received_ms = self.last_received_ms.max(later.last_received_ms);
        self.user_id = self.user_id.take().max(later.user_id);
        self.ttff_ms = min_i64(self.ttff_ms, later.ttff_ms);
        self.watched_ms = self.watched_ms.saturating_add(later.watched_ms);
        self.rebuffer_ms = self.rebuffer_ms.saturating_add(later.rebuffer_ms);
        self.rebuffer_count = self.rebuffer_count.saturating_add(later.rebuffer_count);
        self.fatal_error |= later.fatal_error;
        self.playback_failure |= later.playback_failure;
        self.business_exception |= later.business_exception;
        self.seek_count = self.seek_count.saturating_add(later.seek_count);
        self.seek_ms = self.seek_ms.saturating_add(later.seek_ms);
        self.has_first_frame |= later.has_first_frame;
        self.has_view_start |= later.has_view_start;
        self.ended |= later.ended;
        self.furthest_position_s = max_f64(self.furthest_position_s, later.furthest_position_s);
        self.duration_s = max_f64(self.duration_s, later.duration_s);
        if !later.ranges.is_empty() {
            let extends_in_order = self
                .ranges
                .last()
                .zip(later.ranges.first())
                .is_some_and(|(last, first)| first.0 >= last.0);
            self.ranges.extend(later.ranges);
            if extends_in_order && self.ranges.len() <= 2 {
                // The common case, a heartbeat continuing the previous one, stays cheap.
                let n = self.ranges.len();
                if n == 2 && self.ranges[1].0 <= self.ranges[0].1 {
                    self.ranges[0].1 = self.ranges[0].1.max(self.ranges[1].1);
                    self.ranges.pop();
                }
            } else {
                merge_ranges(&mut self.ranges);
            }
        }
    }
}

/// The segments of one view id, in time order, separated by more than [`VIEW_IDLE_MS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub segments: Vec<Segment>,
}

/// One segment as it is stored, with what follows from its place in the timeline.
#[derive(Debug, Clone, Copy)]
pub struct SegmentRow<'a> {
    /// Position in the timeline (0 = first).
    pub segment: i32,
    pub state: &'a Segment,
    /// Whether this segment is a view (see the module rules).
    pub counted: bool,
    pub reached_first_frame: bool,
}

impl Timeline {
    /// Adds one event.
    pub fn add_event(&mut self, event: &ViewEvent<'_>) {
        // The segments within the idle gap of the event; usually just the last one.
        let near = |s: &Segment| {
            s.started_ms.saturating_sub(event.ts) <= VIEW_IDLE_MS
                && event.ts.saturating_sub(s.last_ms) <= VIEW_IDLE_MS
        };
        let mut found = None;
        for (i, s) in self.segments.iter().enumerate().rev() {
            if near(s) {
                if found.is_some() {
                    // It joins two segments: the general path merges them.
                    found = None;
                    break;
                }
                found = Some(i);
            } else if s.last_ms.saturating_add(VIEW_IDLE_MS) < event.ts {
                break;
            }
        }
        match found {
            // Near one segment only: the segment grows towards no other, so it can grow in place.
            Some(i) => self.segments[i].absorb_event(event),
            None => self.add_segment(Segment::of_event(event)),
        }
    }

    /// Adds a segment (an event, or part of another timeline), merging every segment it comes
    /// within [`VIEW_IDLE_MS`] of.
    pub fn add_segment(&mut self, mut segment: Segment) {
        // Fast path: events mostly arrive in order and continue the last segment (which then only
        // grows at its end, so it comes no nearer to the one before).
        if let Some(last) = self.segments.last_mut() {
            if segment.started_ms >= last.started_ms
                && segment.started_ms.saturating_sub(last.last_ms) <= VIEW_IDLE_MS
            {
                last.absorb(segment);
                return;
            }
        }
        // Segments that come within the idle gap of the new one on both sides merge with it; they
        // are contiguous in time order.
        let near = |s: &Segment, n: &Segment| {
            s.started_ms.saturating_sub(n.last_ms) <= VIEW_IDLE_MS
                && n.started_ms.saturating_sub(s.last_ms) <= VIEW_IDLE_MS
        };
        let first = self.segments.iter().position(|s| near(s, &segment));
        match first {
            None => {
                let at = self.segments.partition_point(|s| s.starts_before(&segment));
                self.segments.insert(at, segment);
            }
            Some(first) => {
                let mut end = first;
                while end < self.segments.len() && near(&self.segments[end], &segment) {
                    end += 1;
                }
                for s in self.segments.drain(first..end) {
                    segment.absorb(s);
                }
                // The grown segment may now reach its neighbours.
                self.segments.insert(first, segment);
                self.settle(first);
            }
        }
    }

    /// Merges the segment at `at` with neighbours it now comes within the idle gap of.
    fn settle(&mut self, mut at: usize) {
        while at > 0
            && self.segments[at]
                .started_ms
                .saturating_sub(self.segments[at - 1].last_ms)
                <= VIEW_IDLE_MS
        {
            let s = self.segments.remove(at);
            self.segments[at - 1].absorb(s);
            at -= 1;
        }
        while at + 1 < self.segments.len()
            && self.segments[at + 1]
                .started_ms
                .saturating_sub(self.segments[at].last_ms)
                <= VIEW_IDLE_MS
        {
            let s = self.segments.remove(at + 1);
            self.segments[at].absorb(s);
        }
    }

    /// Adds every segment of `other`.
    pub fn merge(&mut self, other: Timeline) {
        for s in other.segments {
            self.add_segment(s);
        }
    }

    /// The segments with their position and whether each is a view.
    pub fn rows(&self) -> impl Iterator<Item = SegmentRow<'_>> {
        let has_view_start = self.segments.iter().any(|s| s.has_view_start);
        self.segments.iter().enumerate().map(move |(i, s)| {
            let later_and_played = i > 0 && s.watched_ms > 0;
            SegmentRow {
                segment: i as i32,
                state: s,
                counted: has_view_start
                    && (i == 0 || s.has_view_start || s.has_first_frame || s.watched_ms > 0),
                reached_first_frame: s.has_first_frame || later_and_played,
            }
        })
    }
}

/// The page a view started on: scheme, host and path, without query and fragment (None unless the
/// URL starts with a scheme and `://`).
pub fn source_of(page_url: &str) -> Option<&str> {
    let (scheme, rest) = page_url.split_once("://")?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    if !scheme_ok {
        return None;
    }
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    Some(&page_url[..scheme.len() + 3 + end])
}

/// The rendering engine of a browser family (None when not known).
pub fn browser_engine(browser: Option<&str>, os: Option<&str>) -> Option<&'static str> {
    if os == Some("iOS") {
        return Some("WebKit");
    }
    match browser? {
        "Safari" | "Mobile Safari" | "Mobile Safari UI/WKWebView" => Some("WebKit"),
        "Firefox" | "Firefox Mobile" | "Firefox iOS" => Some("Gecko"),
        "Chrome"
        | "Chrome Mobile"
        | "Chrome Mobile WebView"
        | "Chromium"
        | "Edge"
        | "Opera"
        | "Samsung Internet"
        | "Brave"
        | "Vivaldi"
        | "Yandex Browser"
        | "HeadlessChrome" => Some("Blink"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(eid: &str, ts: i64, kind: ViewEventKind) -> ViewEvent<'_> {
        ViewEvent {
            eid,
            ts,
            received_at: ts.saturating_add(5),
            kind: Some(kind),
            dims: dims(&[(Dim::ContentId, "c1"), (Dim::AnonymousId, "anon")]),
            ..ViewEvent::default()
        }
    }

    fn dims(values: &[(Dim, &'static str)]) -> [Option<&'static str>; DIMS] {
        let mut dims = [None; DIMS];
        for (dim, value) in values {
            dims[*dim as usize] = Some(*value);
        }
        dims
    }

    fn heartbeat(eid: &'static str, ts: i64, played: &'static [[f64; 2]]) -> ViewEvent<'static> {
        ViewEvent {
            watched_ms: Some(10_000),
            played,
            ..ev(eid, ts, ViewEventKind::Other)
        }
    }

    fn timeline(events: &[ViewEvent<'_>]) -> Timeline {
        let mut t = Timeline::default();
        for e in events {
            t.add_event(e);
        }
        t
    }

    const MIN: i64 = 60_000;

    /// Checks that `events` shuffled, and cut in two folded apart then merged, fold to `sorted`.
    fn assert_order_free(
        events: &[ViewEvent<'_>],
        sorted: &Timeline,
        next: &mut impl FnMut(u64) -> u64,
    ) {
        let mut shuffled = events.to_vec();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, next(i as u64 + 1) as usize);
        }
        assert_eq!(&timeline(&shuffled), sorted);
        let cut = next(shuffled.len() as u64) as usize;
        let mut halves = timeline(&shuffled[..cut]);
        halves.merge(timeline(&shuffled[cut..]));
        assert_eq!(&halves, sorted);
    }

    /// A small deterministic generator (xorshift64): `next(n)` is below `n`.
    fn generator(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        }
    }

    #[test]
    fn a_gap_of_more_than_30_minutes_splits_and_exactly_30_does_not() {
        let t = timeline(&[
            ev("a", 0, ViewEventKind::ViewStart),
            heartbeat("b", 30 * MIN, &[[0.0, 10.0]]),
            heartbeat("c", 60 * MIN + 1, &[[10.0, 20.0]]),
        ]);
        assert_eq!(t.segments.len(), 2);
        assert_eq!(t.segments[0].last_ms, 30 * MIN);
        let rows: Vec<_> = t.rows().collect();
        assert!(
            rows[0].counted && rows[1].counted,
            "the later segment played"
        );
        assert!(rows[1].reached_first_frame);
        assert!(!rows[0].reached_first_frame);
    }

    #[test]
    fn a_late_event_between_two_segments_joins_them() {
        let mut t = timeline(&[
            ev("a", 0, ViewEventKind::ViewStart),
            heartbeat("c", 50 * MIN, &[[10.0, 20.0]]),
        ]);
        assert_eq!(t.segments.len(), 2);
        t.add_event(&heartbeat("b", 25 * MIN, &[[0.0, 10.0]]));
        assert_eq!(t.segments.len(), 1);
        assert_eq!(t.segments[0].watched_ms, 20_000);
        assert_eq!(t.segments[0].ranges, vec![(0.0, 20.0)]);
    }

    #[test]
    fn order_of_arrival_does_not_change_the_views() {
        let events = [
            ev("a", 0, ViewEventKind::ViewStart),
            ViewEvent {
                ttff_ms: Some(700),
                ..ev("b", 700, ViewEventKind::FirstFrame)
            },
            heartbeat("c", 10_000, &[[0.0, 9.0]]),
            ev("d", 12_000, ViewEventKind::RebufferStart),
            heartbeat("e", 20_000, &[[9.0, 18.0]]),
            heartbeat("f", 90 * MIN, &[[40.0, 50.0]]),
            ev("g", 200 * MIN, ViewEventKind::End),
        ];
        let forward = timeline(&events);
        let mut reversed = events.clone();
        reversed.reverse();
        let backward = timeline(&reversed);
        // In two halves merged, as decoding threads do.
        let mut halves = timeline(&[events[0].clone(), events[2].clone(), events[5].clone()]);
        halves.merge(timeline(&[
            events[1].clone(),
            events[3].clone(),
            events[4].clone(),
            events[6].clone(),
        ]));
        assert_eq!(forward, backward);
        assert_eq!(forward, halves);
        let rows: Vec<_> = forward.rows().collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows.iter().map(|r| r.counted).collect::<Vec<_>>(),
            vec![true, true, false],
            "a lone view_end after a long idle is no view"
        );
        let first = &forward.segments[0];
        assert_eq!(first.ttff_ms, Some(700));
        assert_eq!(first.rebuffer_count, 1);
        assert_eq!(first.ranges, vec![(0.0, 18.0)]);
        assert!(forward.segments[2].ended);
    }

    #[test]
    fn any_arrival_order_and_any_split_give_the_same_timeline() {
        // Events of one view with gaps around the idle limit.
        let mut next = generator(0x2545_f491_4f6c_dd1d);
        let eids: Vec<String> = (0..40).map(|i| format!("e{i:02}")).collect();
        let played: Vec<[[f64; 2]; 1]> = (0..40).map(|i| [[i as f64, i as f64 + 1.0]]).collect();
        for _case in 0..200 {
            let mut ts = 0i64;
            let mut events = Vec::new();
            for i in 0..(2 + next(30) as usize) {
                ts += [1_000, 10_000, VIEW_IDLE_MS, VIEW_IDLE_MS + 1, 40 * MIN][next(5) as usize];
                let kind = [
                    ViewEventKind::ViewStart,
                    ViewEventKind::FirstFrame,
                    ViewEventKind::Other,
                    ViewEventKind::RebufferStart,
                    ViewEventKind::End,
                    ViewEventKind::Error,
                    ViewEventKind::Seek,
                ][next(7) as usize];
                let mut e = ev(&eids[i], ts, kind);
                e.dims[Dim::Country as usize] = [None, Some("DE"), Some("FR")][next(3) as usize];
                events.push(ViewEvent {
                    fatal: next(2) == 0,
                    business_exception: next(2) == 0,
                    seek_ms: [None, Some(250), Some(700)][next(3) as usize],
                    watched_ms: Some(next(3) as i64 * 1000),
                    user_id: [None, Some("u1"), Some("u2")][next(3) as usize],
                    played: if next(2) == 0 { &played[i][..] } else { &[] },
                    ..e
                });
            }
            let sorted = timeline(&events);
            assert_order_free(&events, &sorted, &mut next);
        }
    }

    #[test]
    fn extreme_values_fold_without_overflow_in_any_order_or_split() {
        // Values the edge refuses and a load quarantines, folded anyway: sums saturate instead of
        // wrapping (debug builds panic on overflow), and the fold stays order-free.
        let mut next = generator(0x9e37_79b9_7f4a_7c15);
        let big = [0, 1, 3_600_000, i64::MAX - 1, i64::MAX];
        let times = [i64::MIN, -1, 0, 1_000, VIEW_IDLE_MS, i64::MAX - 1, i64::MAX];
        let positions = [0.0, 1e10, f64::MAX];
        let eids: Vec<String> = (0..30).map(|i| format!("e{i:02}")).collect();
        for _case in 0..300 {
            let mut events = Vec::new();
            for eid in eids.iter().take(1 + next(20) as usize) {
                events.push(ViewEvent {
                    watched_ms: Some(big[next(5) as usize]),
                    rebuffer_ms: Some(big[next(5) as usize]),
                    ttff_ms: Some(big[next(5) as usize]),
                    position_s: Some(positions[next(3) as usize]),
                    duration_s: Some(positions[next(3) as usize]),
                    received_at: times[next(7) as usize],
                    ..ev(eid, times[next(7) as usize], ViewEventKind::FirstFrame)
                });
            }
            let sorted = timeline(&events);
            for s in &sorted.segments {
                assert!(s.watched_ms >= 0 && s.rebuffer_ms >= 0 && s.rebuffer_count >= 0);
            }
            let total: i128 = events
                .iter()
                .map(|e| i128::from(e.watched_ms.unwrap_or(0)))
                .sum();
            if sorted.segments.len() == 1 {
                let expected = total.min(i128::from(i64::MAX));
                assert_eq!(i128::from(sorted.segments[0].watched_ms), expected);
            }
            assert_order_free(&events, &sorted, &mut next);
        }
    }

    #[test]
    fn a_view_id_without_view_start_is_no_view() {
        let t = timeline(&[heartbeat("a", 0, &[[0.0, 1.0]])]);
        let rows: Vec<bool> = t.rows().map(|r| r.counted).collect();
        assert_eq!(rows, [false], "one segment, not a view");
    }

    #[test]
    fn dimensions_come_from_the_first_event() {
        let mut later = heartbeat("b", 1000, &[]);
        later.dims[Dim::Country as usize] = Some("DE");
        later.dims[Dim::Props as usize] = Some("{}");
        let mut t = timeline(&[later]);
        let mut first = ev("a", 0, ViewEventKind::ViewStart);
        first.dims[Dim::Country as usize] = Some("FR");
        t.add_event(&first);
        let s = &t.segments[0];
        assert_eq!(s.dims.get(Dim::Country), Some("FR"));
        assert_eq!(s.dims.get(Dim::Props), None, "the first event had none");
        assert_eq!(s.started_ms, 0);
        assert_eq!(s.first_eid, "a");
    }

    #[test]
    fn ranges_merge_where_they_touch_or_overlap() {
        let mut r = vec![(10.0, 20.0), (0.0, 10.0), (30.0, 40.0), (35.0, 38.0)];
        merge_ranges(&mut r);
        assert_eq!(r, vec![(0.0, 20.0), (30.0, 40.0)]);
    }

    #[test]
    fn source_is_scheme_host_and_path() {
        assert_eq!(
            source_of("https://blog.example.org/watch/c1?utm=x#t"),
            Some("https://blog.example.org/watch/c1")
        );
        assert_eq!(source_of("https://a.b"), Some("https://a.b"));
        assert_eq!(source_of("not a url"), None);
        assert_eq!(source_of("1http://a.b/"), None);
    }

    #[test]
    fn engines_follow_the_browser_family() {
        assert_eq!(browser_engine(Some("Chrome"), Some("iOS")), Some("WebKit"));
        assert_eq!(
            browser_engine(Some("Firefox"), Some("Linux")),
            Some("Gecko")
        );
        assert_eq!(browser_engine(Some("Edge"), None), Some("Blink"));
        assert_eq!(browser_engine(Some("Lynx"), None), None);
    }
}
