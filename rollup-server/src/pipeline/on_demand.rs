//! `POST /admin/ingest`'s two protections: a per-tenant allowance of on-demand pulls, and coalescing.
//!
//! Each flush makes the edge write out every tenant's buffer, so one tenant pulling in a loop used to
//! split every other tenant's events into one-event lake objects. Now:
//! - a tenant has [`BURST`] on-demand pulls and earns one back every [`REFILL`]; past that it gets 429
//!   with `Retry-After` (the scheduled pulls go on);
//! - callers that arrive while a flush-and-pull is under way wait and share the next one: a pull that
//!   started after a caller arrived has flushed everything that caller sent before asking.

use crate::pipeline::pull::PullReport;
use crate::store::readers::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// On-demand pulls a tenant may ask for at once.
pub const BURST: u32 = 10;
/// How often a tenant earns one back.
pub const REFILL: Duration = Duration::from_secs(6);

/// One tenant's allowance.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    left: u32,
    /// When the next one is earned (counted from the last refill).
    since: Instant,
}

/// The allowances and the record of the last on-demand pull.
#[derive(Debug, Default)]
pub struct OnDemand {
    allowances: Mutex<HashMap<String, Allowance>>,
    /// On-demand pulls started so far.
    started: AtomicU64,
    /// The last one that succeeded: its number and report.
    last: Mutex<Option<(u64, Arc<PullReport>)>>,
}

impl OnDemand {
    /// Takes one of `tenant`'s pulls, or says in how many seconds the next is earned.
    pub fn take(&self, tenant: &str, now: Instant) -> Result<(), u64> {
        let mut allowances = lock(&self.allowances);
        if allowances.len() > 10_000 {
            // Tenants back at a full allowance need no record.
            allowances.retain(|_, a| now.duration_since(a.since) < REFILL * BURST);
        }
        let allowance = allowances.entry(tenant.to_string()).or_insert(Allowance {
            left: BURST,
            since: now,
        });
        let earned =
            (now.duration_since(allowance.since).as_secs_f64() / REFILL.as_secs_f64()) as u32;
        if earned > 0 {
            allowance.left = allowance.left.saturating_add(earned).min(BURST);
            allowance.since += REFILL * earned;
        }
        if allowance.left == 0 {
            let wait = (allowance.since + REFILL).saturating_duration_since(now);
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        allowance.left -= 1;
        Ok(())
    }

    /// A caller's ticket: how many on-demand pulls had started when it arrived.
    pub fn arrive(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }

    /// With the pull lock held: the report of a pull that started after `ticket` was taken, if one
    /// has finished (then it serves this caller).
    pub fn served(&self, ticket: u64) -> Option<Arc<PullReport>> {
        match &*lock(&self.last) {
            Some((number, report)) if *number > ticket => Some(report.clone()),
            _ => None,
        }
    }

    /// With the pull lock held, before flushing: the number of the pull about to start.
    pub fn start(&self) -> u64 {
        self.started.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// With the pull lock held: pull `number` succeeded.
    pub fn finished(&self, number: u64, report: PullReport) -> Arc<PullReport> {
        let report = Arc::new(report);
        *lock(&self.last) = Some((number, report.clone()));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_has_a_burst_then_earns_pulls_back_while_others_keep_theirs() {
        let gate = OnDemand::default();
        let t0 = Instant::now();
        for _ in 0..BURST {
            assert_eq!(gate.take("hog", t0), Ok(()));
        }
        let wait = gate.take("hog", t0).expect_err("allowance used up");
        assert_eq!(wait, REFILL.as_secs());
        assert_eq!(
            gate.take("quiet", t0),
            Ok(()),
            "another tenant is not affected"
        );
        // One earned back after REFILL, and only one.
        let later = t0 + REFILL + Duration::from_millis(10);
        assert_eq!(gate.take("hog", later), Ok(()));
        assert!(gate.take("hog", later).is_err());
        // A long pause refills to the burst, no further.
        let much_later = later + REFILL * (BURST * 5);
        for _ in 0..BURST {
            assert_eq!(gate.take("hog", much_later), Ok(()));
        }
        assert!(gate.take("hog", much_later).is_err());
    }

    #[test]
    fn only_a_pull_started_after_a_caller_arrived_serves_it() {
        let gate = OnDemand::default();
        let early = gate.arrive();
        let first = gate.start();
        // A caller arriving while `first` runs is not served by it.
        let during = gate.arrive();
        gate.finished(first, PullReport::default());
        assert!(
            gate.served(early).is_some(),
            "arrived before the pull started"
        );
        assert!(
            gate.served(during).is_none(),
            "arrived after its flush began"
        );
        let second = gate.start();
        gate.finished(second, PullReport::default());
        assert!(gate.served(during).is_some());
    }
}
