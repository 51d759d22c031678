//! Batching and retry: which events go in the next request, and when to try again after a failure.
//! Events are held as their JSON text (see [`crate::json`]).

use crate::json::{split_object_array, write_array};
use alloc::string::String;
use alloc::vec::Vec;

/// Most events in one request (the edge's limit).
pub const MAX_EVENTS_PER_REQUEST: usize = event_schema::limits::MAX_BATCH_EVENTS;
/// Most bytes of events in one request body. Keep-alive `fetch`es and `sendBeacon` share a budget of
/// 64 KiB in flight per page (Fetch standard, "keepalive"; a body over it fails as a network error,
/// every time): a batch stays under half of it, so the request in flight and a page-hide beacon both
/// fit. Without this bound, the backlog of a long outage (a heartbeat every 10 s is ~6 KB a minute)
/// would make one batch too big to ever be sent.
pub const MAX_BATCH_BYTES: usize = 30 * 1024;
/// Most events kept while the network is down; the oldest are dropped beyond this. At the 10 s
/// heartbeat of one playing view, that is more than 13 hours offline.
pub const MAX_QUEUED_EVENTS: usize = 5_000;
/// Regular send interval.
pub const SEND_INTERVAL_MS: f64 = 5_000.0;
/// A request still unanswered after this is abandoned, counted as failed, and retried: a connection
/// that died without an error (the network lost mid-request) would otherwise hold the one request in
/// flight, and every send after it, for as long as the browser keeps it open. The edge answers in
/// milliseconds; a late answer to an abandoned request only duplicates events the rollup dedups.
pub const REQUEST_TIMEOUT_MS: f64 = 30_000.0;
/// First retry delay; doubles per failure up to [`MAX_RETRY_DELAY_MS`].
pub const FIRST_RETRY_DELAY_MS: f64 = 1_000.0;
/// Longest retry delay.
pub const MAX_RETRY_DELAY_MS: f64 = 60_000.0;

/// Events waiting to be sent (JSON texts, oldest first), with the retry state.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Vec<String>,
    failures: u32,
    next_attempt_ms: f64,
    in_flight: usize,
}

impl Outbox {
    /// Adds an event (its JSON text); drops the oldest when full.
    pub fn push(&mut self, event: String) {
        if self.queue.len() >= MAX_QUEUED_EVENTS {
            self.drop_oldest(1);
        }
        self.queue.push(event);
    }

    /// Events waiting (including those in flight).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next request's body, if one may be sent at `now_ms` (none in flight, backoff elapsed).
    pub fn take_batch(&mut self, now_ms: f64) -> Option<String> {
        if self.in_flight > 0 || self.queue.is_empty() || now_ms < self.next_attempt_ms {
            return None;
        }
        self.in_flight = self.batch_len();
        Some(batch_body(self.queue.iter().take(self.in_flight)))
    }

    /// The body of a last-chance beacon on page hide: the oldest waiting events (at most one
    /// request's worth), or `None` when nothing waits.
    pub fn peek_batch(&self) -> Option<String> {
        let n = self.batch_len();
        (n > 0).then(|| batch_body(self.queue.iter().take(n)))
    }

    /// How many of the oldest events make one request: at most [`MAX_EVENTS_PER_REQUEST`] and
    /// [`MAX_BATCH_BYTES`], and at least one (an event bigger than that goes alone).
    fn batch_len(&self) -> usize {
        let mut bytes = 0;
        let mut n = 0;
        for event in self.queue.iter().take(MAX_EVENTS_PER_REQUEST) {
            // The event and its separating comma.
            bytes += event.len() + 1;
            if n > 0 && bytes > MAX_BATCH_BYTES {
                break;
            }
            n += 1;
        }
        n
    }

    /// The network is back (the browser's `online` event): the next attempt need not wait for the
    /// backoff, which after minutes offline is at its longest. A failure from here backs off again
    /// from where it was.
    pub fn retry_now(&mut self) {
        self.next_attempt_ms = 0.0;
    }

    /// The in-flight batch was acknowledged: drop it and reset the backoff.
    pub fn acknowledge(&mut self) {
        self.drop_oldest(self.in_flight);
        self.in_flight = 0;
        self.failures = 0;
        self.next_attempt_ms = 0.0;
    }

    /// Drops the `n` oldest events (in place; no index that could panic).
    fn drop_oldest(&mut self, n: usize) {
        self.queue = core::mem::take(&mut self.queue)
            .into_iter()
            .skip(n)
            .collect();
    }

    /// The in-flight batch failed: keep it and back off exponentially.
    pub fn fail(&mut self, now_ms: f64) {
        self.in_flight = 0;
        self.failures = self.failures.saturating_add(1);
        self.next_attempt_ms = now_ms + retry_delay_ms(self.failures);
    }

    /// The queue as a JSON array, to persist across page loads.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_array(&mut out, &self.queue);
        out
    }

    /// Restores a persisted queue (bounded like any push; ignores anything unreadable).
    pub fn restore(&mut self, persisted: &str) {
        for event in split_object_array(persisted).unwrap_or_default() {
            self.push(String::from(event));
        }
    }
}

/// A request body: `{"events":[...]}`.
fn batch_body<'a>(events: impl IntoIterator<Item = &'a String>) -> String {
    let mut body = String::from("{\"events\":");
    write_array(&mut body, events);
    body.push('}');
    body
}

/// Delay before retry number `failures` (1-based).
pub fn retry_delay_ms(failures: u32) -> f64 {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_RETRY_DELAY_MS * f64::from(1u32 << doublings)).min(MAX_RETRY_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use serde_json::Value;

    fn event(i: usize) -> String {
        format!("{{\"i\":{i}}}")
    }

    /// The events of a request body, by their `i`.
    fn batch_ids(body: Option<String>) -> Option<Vec<i64>> {
        let body: Value = serde_json::from_str(&body?).expect("valid JSON");
        let events = body["events"].as_array().expect("an events array");
        Some(events.iter().filter_map(|e| e["i"].as_i64()).collect())
    }

    #[test]
    fn batches_hold_at_most_500_events() {
        let mut outbox = Outbox::default();
        for i in 0..1_200 {
            outbox.push(event(i));
        }
        assert_eq!(
            batch_ids(outbox.take_batch(0.0)).map(|b| b.len()),
            Some(500)
        );
        assert!(
            outbox.take_batch(0.0).is_none(),
            "one request in flight at a time"
        );
        outbox.acknowledge();
        assert_eq!(outbox.len(), 700);
        assert_eq!(
            batch_ids(outbox.take_batch(0.0)).and_then(|b| b.first().copied()),
            Some(500)
        );
    }

    #[test]
    fn failures_keep_events_and_back_off() {
        let mut outbox = Outbox::default();
        outbox.push(event(1));
        assert!(outbox.take_batch(0.0).is_some());
        outbox.fail(10_000.0);
        assert_eq!(outbox.len(), 1);
        assert!(outbox.take_batch(10_500.0).is_none(), "still backing off");
        assert!(outbox.take_batch(11_000.0).is_some());
        outbox.fail(11_000.0);
        assert!(outbox.take_batch(12_500.0).is_none(), "second delay is 2 s");
        assert!(outbox.take_batch(13_000.0).is_some());
    }

    #[test]
    fn retry_delay_doubles_up_to_a_minute() {
        assert_eq!(retry_delay_ms(1), 1_000.0);
        assert_eq!(retry_delay_ms(2), 2_000.0);
        assert_eq!(retry_delay_ms(6), 32_000.0);
        assert_eq!(retry_delay_ms(7), MAX_RETRY_DELAY_MS);
        assert_eq!(retry_delay_ms(30), MAX_RETRY_DELAY_MS);
    }

    /// An event of about `bytes` bytes (a heartbeat with its ids and page is ~0.6 KB).
    fn sized_event(i: usize, bytes: usize) -> String {
        format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(bytes))
    }

    #[test]
    fn a_long_outage_backlog_goes_out_in_batches_that_fit_the_keepalive_budget() {
        // An hour offline: 360 heartbeats of ~0.9 KB and a few other events (~320 KB).
        let mut outbox = Outbox::default();
        for i in 0..400 {
            outbox.push(sized_event(i, 900));
        }
        let mut delivered = Vec::new();
        while let Some(body) = outbox.take_batch(0.0) {
            assert!(
                body.len() <= MAX_BATCH_BYTES + 64,
                "a {} B body would not fit a keep-alive request",
                body.len()
            );
            delivered.extend(batch_ids(Some(body)).unwrap_or_default());
            outbox.acknowledge();
        }
        assert_eq!(
            delivered,
            (0..400).collect::<Vec<i64>>(),
            "all, in order, once"
        );
        assert!(outbox.is_empty());
    }

    #[test]
    fn an_event_bigger_than_a_batch_goes_alone() {
        let mut outbox = Outbox::default();
        outbox.push(sized_event(0, MAX_BATCH_BYTES + 10));
        outbox.push(event(1));
        assert_eq!(batch_ids(outbox.peek_batch()), Some(vec![0]));
        assert_eq!(batch_ids(outbox.take_batch(0.0)), Some(vec![0]));
        outbox.acknowledge();
        assert_eq!(batch_ids(outbox.take_batch(0.0)), Some(vec![1]));
    }

    #[test]
    fn the_network_coming_back_ends_the_backoff_at_once() {
        // Ten minutes offline, trying whenever the backoff allows (the SDK ticks every second).
        let mut outbox = Outbox::default();
        outbox.push(event(1));
        let mut attempts = 0;
        for second in 0..600 {
            let now_ms = f64::from(second) * 1_000.0;
            if outbox.take_batch(now_ms).is_some() {
                attempts += 1;
                outbox.fail(now_ms);
            }
        }
        assert!(
            attempts < 20,
            "backed off: {attempts} attempts in 10 minutes"
        );
        let back_ms = 600_000.0;
        assert!(
            outbox.next_attempt_ms - back_ms <= MAX_RETRY_DELAY_MS,
            "without an `online` event, the next attempt is at most a minute away"
        );
        outbox.retry_now();
        assert_eq!(batch_ids(outbox.take_batch(back_ms)), Some(vec![1]));
        outbox.fail(back_ms);
        assert_eq!(
            outbox.next_attempt_ms - back_ms,
            MAX_RETRY_DELAY_MS,
            "still failing: back to the longest delay, not to a retry storm"
        );
        assert!(outbox.take_batch(back_ms + 1_000.0).is_none());
    }

    #[test]
    fn queue_is_bounded_and_survives_a_reload() {
        let mut outbox = Outbox::default();
        for i in 0..MAX_QUEUED_EVENTS + 10 {
            outbox.push(event(i));
        }
        assert_eq!(outbox.len(), MAX_QUEUED_EVENTS);
        let persisted: Value = serde_json::from_str(&outbox.to_json()).expect("valid JSON");
        assert_eq!(persisted.as_array().map(Vec::len), Some(MAX_QUEUED_EVENTS));
        let mut reloaded = Outbox::default();
        reloaded.restore(&outbox.to_json());
        assert_eq!(reloaded.len(), MAX_QUEUED_EVENTS);
        assert_eq!(
            batch_ids(reloaded.take_batch(0.0)).and_then(|b| b.first().copied()),
            Some(10)
        );
    }

    #[test]
    fn an_unreadable_persisted_queue_is_ignored() {
        let mut outbox = Outbox::default();
        outbox.restore("not json");
        outbox.restore("[1,2]");
        assert!(outbox.is_empty());
        assert_eq!(outbox.peek_batch(), None);
        outbox.restore(r#"[{"i":3}]"#);
        assert_eq!(batch_ids(outbox.peek_batch()), Some(vec![3]));
    }
}
