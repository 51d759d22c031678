//! Operational figures for Prometheus (`GET /metrics`): what pulls loaded, when, how far behind the
//! edge the store is, and how long queries take.

use crate::pipeline::pull::PullReport;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters shared by the scheduler, on-demand pulls and the API.
#[derive(Debug, Default)]
pub struct Telemetry {
    objects_loaded: AtomicU64,
    events_loaded: AtomicU64,
    duplicates_skipped: AtomicU64,
    objects_quarantined: AtomicU64,
    lines_quarantined: AtomicU64,
    pulls: AtomicU64,
    pull_failures: AtomicU64,
    refused: AtomicU64,
    last_pull_ms: AtomicI64,
    newest_object_upload_ms: AtomicI64,
    query_count: AtomicU64,
    query_micros: AtomicU64,
}

impl Telemetry {
    /// Records a successful pull.
    pub fn pulled(&self, report: &PullReport, now_ms: i64, newest_upload_ms: Option<i64>) {
        self.objects_loaded
            .fetch_add(report.objects_loaded, Ordering::Relaxed);
        self.events_loaded
            .fetch_add(report.events_loaded, Ordering::Relaxed);
        self.duplicates_skipped
            .fetch_add(report.duplicates_skipped, Ordering::Relaxed);
        self.objects_quarantined
            .fetch_add(report.objects_quarantined, Ordering::Relaxed);
        self.lines_quarantined
            .fetch_add(report.lines_quarantined, Ordering::Relaxed);
        self.last_pull_ms.store(now_ms, Ordering::Relaxed);
        self.pulls.fetch_add(1, Ordering::Relaxed);
        if let Some(ms) = newest_upload_ms {
            self.newest_object_upload_ms
                .fetch_max(ms, Ordering::Relaxed);
        }
    }

    /// Records a failed pull.
    pub fn pull_failed(&self) {
        self.pull_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a request refused to keep tenants apart (429 or 503 with `Retry-After`).
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one query's duration.
    pub fn queried(&self, micros: u64) {
        self.query_count.fetch_add(1, Ordering::Relaxed);
        self.query_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Time of the last successful pull, epoch ms (0: none yet).
    pub fn last_pull_ms(&self) -> i64 {
        self.last_pull_ms.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, now_ms: i64) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        metric(
            "tapemetric_objects_loaded_total",
            "counter",
            "Lake batch objects loaded.",
            get(&self.objects_loaded),
        );
        metric(
            "tapemetric_events_loaded_total",
            "counter",
            "Events stored (new ones).",
            get(&self.events_loaded),
        );
        metric(
            "tapemetric_duplicates_skipped_total",
            "counter",
            "Events skipped as already stored (same tenant and eid).",
            get(&self.duplicates_skipped),
        );
        metric(
            "tapemetric_objects_quarantined_total",
            "counter",
            "Lake objects left out whole (not gzip, or too large): GET /admin/quarantine lists them.",
            get(&self.objects_quarantined),
        );
        metric(
            "tapemetric_lines_quarantined_total",
            "counter",
            "Lake lines left out (not events, or values that cannot happen): GET /admin/quarantine.",
            get(&self.lines_quarantined),
        );
        metric(
            "tapemetric_pulls_total",
            "counter",
            "Pulls that succeeded (scheduled and on-demand).",
            get(&self.pulls),
        );
        metric(
            "tapemetric_requests_refused_total",
            "counter",
            "Requests answered 429 or 503 with Retry-After: a tenant past its share of reads or \
             on-demand pulls, a query past its time budget, or no read connection free.",
            get(&self.refused),
        );
        metric(
            "tapemetric_pull_failures_total",
            "counter",
            "Pulls that failed (retried at the next tick).",
            get(&self.pull_failures),
        );
        let last = self.last_pull_ms.load(Ordering::Relaxed);
        metric(
            "tapemetric_last_pull_timestamp_seconds",
            "gauge",
            "Time of the last successful pull.",
            format!("{:.3}", last as f64 / 1000.0),
        );
        let newest = self.newest_object_upload_ms.load(Ordering::Relaxed);
        let lag = if newest > 0 {
            (now_ms - newest).max(0) as f64 / 1000.0
        } else {
            0.0
        };
        metric(
            "tapemetric_ingest_lag_seconds",
            "gauge",
            "Age of the newest loaded batch object (how far queries trail the edge).",
            format!("{lag:.3}"),
        );
        metric(
            "tapemetric_query_duration_seconds_sum",
            "counter",
            "Total time spent answering query API requests.",
            format!(
                "{:.6}",
                self.query_micros.load(Ordering::Relaxed) as f64 / 1e6
            ),
        );
        metric(
            "tapemetric_query_duration_seconds_count",
            "counter",
            "Query API requests answered.",
            get(&self.query_count),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_accumulate_and_render() {
        let t = Telemetry::default();
        let report = PullReport {
            objects_loaded: 2,
            events_loaded: 40,
            duplicates_skipped: 3,
            objects_quarantined: 1,
            lines_quarantined: 5,
            ..PullReport::default()
        };
        t.pulled(&report, 10_000, Some(4_000));
        t.pulled(&report, 12_000, Some(9_000));
        t.pull_failed();
        t.queried(1_500);
        let text = t.render(12_000);
        assert!(text.contains("tapemetric_events_loaded_total 80"), "{text}");
        assert!(text.contains("tapemetric_pull_failures_total 1"));
        assert!(text.contains("tapemetric_objects_quarantined_total 2"));
        assert!(text.contains("tapemetric_lines_quarantined_total 10"));
        assert!(text.contains("tapemetric_ingest_lag_seconds 3.000"));
        assert!(text.contains("tapemetric_last_pull_timestamp_seconds 12.000"));
        assert!(text.contains("tapemetric_query_duration_seconds_count 1"));
    }
}
