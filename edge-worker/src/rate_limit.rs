//! Per-key token buckets. A bucket holds ten seconds' worth of requests and refills continuously, so
//! short bursts pass and sustained overload gets `429` with the seconds to wait.

use std::collections::HashMap;

/// Requests per minute for keys without their own limit (overridden by the `RATE_LIMIT_PER_MINUTE` var).
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 6_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: f64,
}

/// Token buckets by key id (in memory: a limit, not a ledger).
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// Takes one request for `key_id` at `now_ms` under `per_minute`; `Err(seconds)` says how long to
    /// wait before the next request can pass.
    pub fn check(&mut self, key_id: &str, per_minute: u32, now_ms: f64) -> Result<(), u64> {
        let per_ms = f64::from(per_minute.max(1)) / 60_000.0;
        let capacity = (f64::from(per_minute) / 6.0).max(1.0);
        let bucket = self.buckets.entry(key_id.to_string()).or_insert(Bucket {
            tokens: capacity,
            updated_ms: now_ms,
        });
        let elapsed = (now_ms - bucket.updated_ms).max(0.0);
        bucket.tokens = (bucket.tokens + elapsed * per_ms).min(capacity);
        bucket.updated_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_ms / 1000.0).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_ten_seconds_passes_then_429_with_the_wait() {
        let mut limiter = RateLimiter::default();
        for _ in 0..10 {
            assert_eq!(limiter.check("k", 60, 0.0), Ok(()));
        }
        assert_eq!(limiter.check("k", 60, 0.0), Err(1));
        // One request per second refills.
        assert_eq!(limiter.check("k", 60, 1_000.0), Ok(()));
        assert_eq!(limiter.check("k", 60, 1_000.0), Err(1));
    }

    #[test]
    fn keys_have_separate_buckets() {
        let mut limiter = RateLimiter::default();
        assert_eq!(limiter.check("a", 6, 0.0), Ok(()));
        assert_eq!(limiter.check("a", 6, 0.0), Err(10));
        assert_eq!(limiter.check("b", 6, 0.0), Ok(()));
    }
}
