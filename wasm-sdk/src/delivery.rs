//! Batching and retry: which events go in the next request, and when to try again after a failure.

use serde_json::Value;
use std::collections::VecDeque;

/// Most events in one request (the edge's limit).
pub const MAX_EVENTS_PER_REQUEST: usize = event_schema::limits::MAX_BATCH_EVENTS;
/// Most events kept while the network is down; the oldest are dropped beyond this.
pub const MAX_QUEUED_EVENTS: usize = 5_000;
/// Regular send interval.
pub const SEND_INTERVAL_MS: f64 = 5_000.0;
/// First retry delay; doubles per failure up to [`MAX_RETRY_DELAY_MS`].
pub const FIRST_RETRY_DELAY_MS: f64 = 1_000.0;
/// Longest retry delay.
pub const MAX_RETRY_DELAY_MS: f64 = 60_000.0;

/// Events waiting to be sent, with the retry state.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Value>,
    failures: u32,
    next_attempt_ms: f64,
    in_flight: usize,
}

impl Outbox {
    /// Adds an event; drops the oldest when full.
    pub fn push(&mut self, event: Value) {
        if self.queue.len() >= MAX_QUEUED_EVENTS {
            self.queue.pop_front();
        }
        self.queue.push_back(event);
    }

    /// Events waiting (including those in flight).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next request's events, if one may be sent at `now_ms` (none in flight, backoff elapsed).
    pub fn take_batch(&mut self, now_ms: f64) -> Option<Vec<Value>> {
        if self.in_flight > 0 || self.queue.is_empty() || now_ms < self.next_attempt_ms {
            return None;
        }
        let n = self.queue.len().min(MAX_EVENTS_PER_REQUEST);
        self.in_flight = n;
        Some(self.queue.iter().take(n).cloned().collect())
    }

    /// Every waiting event, for a last-chance beacon on page hide (at most one request's worth).
    pub fn peek_all(&self) -> Vec<Value> {
        self.queue
            .iter()
            .take(MAX_EVENTS_PER_REQUEST)
            .cloned()
            .collect()
    }

    /// The in-flight batch was acknowledged: drop it and reset the backoff.
    pub fn acknowledge(&mut self) {
        let n = self.in_flight.min(self.queue.len());
        self.queue.drain(..n);
        self.in_flight = 0;
        self.failures = 0;
        self.next_attempt_ms = 0.0;
    }

    /// The in-flight batch failed: keep it and back off exponentially.
    pub fn fail(&mut self, now_ms: f64) {
        self.in_flight = 0;
        self.failures = self.failures.saturating_add(1);
        self.next_attempt_ms = now_ms + retry_delay_ms(self.failures);
    }

    /// The waiting events, oldest first (to persist across page loads).
    pub fn events(&self) -> Vec<Value> {
        self.queue.iter().cloned().collect()
    }

    /// Restores persisted events (bounded like any push).
    pub fn restore_events(&mut self, events: Vec<Value>) {
        for event in events {
            self.push(event);
        }
    }

    /// The queue as a JSON array, to persist across page loads.
    pub fn to_json(&self) -> String {
        Value::Array(self.queue.iter().cloned().collect()).to_string()
    }

    /// Restores a persisted queue (ignores anything unreadable).
    pub fn restore(&mut self, persisted: &str) {
        if let Ok(Value::Array(events)) = serde_json::from_str(persisted) {
            self.restore_events(events);
        }
    }
}

/// Delay before retry number `failures` (1-based).
pub fn retry_delay_ms(failures: u32) -> f64 {
    let exponent = failures.saturating_sub(1).min(16) as i32;
    (FIRST_RETRY_DELAY_MS * 2f64.powi(exponent)).min(MAX_RETRY_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_hold_at_most_500_events() {
        let mut outbox = Outbox::default();
        for i in 0..1_200 {
            outbox.push(json!({ "i": i }));
        }
        assert_eq!(outbox.take_batch(0.0).map(|b| b.len()), Some(500));
        assert!(
            outbox.take_batch(0.0).is_none(),
            "one request in flight at a time"
        );
        outbox.acknowledge();
        assert_eq!(outbox.len(), 700);
        assert_eq!(
            outbox.take_batch(0.0).and_then(|b| b[0]["i"].as_i64()),
            Some(500)
        );
    }

    #[test]
    fn failures_keep_events_and_back_off() {
        let mut outbox = Outbox::default();
        outbox.push(json!({"i": 1}));
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
        assert_eq!(retry_delay_ms(30), MAX_RETRY_DELAY_MS);
    }

    #[test]
    fn queue_is_bounded_and_survives_a_reload() {
        let mut outbox = Outbox::default();
        for i in 0..MAX_QUEUED_EVENTS + 10 {
            outbox.push(json!({ "i": i }));
        }
        assert_eq!(outbox.len(), MAX_QUEUED_EVENTS);
        let mut reloaded = Outbox::default();
        reloaded.restore(&outbox.to_json());
        assert_eq!(reloaded.len(), MAX_QUEUED_EVENTS);
        assert_eq!(
            reloaded.take_batch(0.0).and_then(|b| b[0]["i"].as_i64()),
            Some(10)
        );
    }
}
