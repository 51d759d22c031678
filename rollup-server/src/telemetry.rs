//! Operational figures for Prometheus (`GET /metrics`, OpenMetrics text through `prometheus-client`):
//! what pulls loaded, when, how far behind the edge the store is, and how long each query route
//! takes (a histogram per route template, so no request value becomes a label).

use crate::pipeline::pull::PullReport;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The label of a query's duration: the route it matched, as declared (`/data/views/query/total/{playback_id}`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

/// Figures shared by the scheduler, on-demand pulls and the API.
pub struct Telemetry {
    registry: Registry,
    objects_loaded: Counter,
    events_loaded: Counter,
    duplicates_skipped: Counter,
    objects_quarantined: Counter,
    lines_quarantined: Counter,
    pulls: Counter,
    pull_failures: Counter,
    refused: Counter,
    last_pull_seconds: Gauge<f64, AtomicU64>,
    ingest_lag_seconds: Gauge<f64, AtomicU64>,
    query_seconds: Family<Route, Histogram>,
    last_pull_ms: AtomicI64,
    newest_object_upload_ms: AtomicI64,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        let mut registry = Registry::default();
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let objects_loaded = counter("tapemetric_objects_loaded", "Lake batch objects loaded.");
        let events_loaded = counter("tapemetric_events_loaded", "Events stored (new ones).");
        let duplicates_skipped = counter(
            "tapemetric_duplicates_skipped",
            "Events skipped as already stored (same tenant and eid).",
        );
        let objects_quarantined = counter(
            "tapemetric_objects_quarantined",
            "Lake objects left out whole (not gzip, or too large): GET /admin/quarantine lists them.",
        );
        let lines_quarantined = counter(
            "tapemetric_lines_quarantined",
            "Lake lines left out (not events, or values that cannot happen): GET /admin/quarantine.",
        );
        let pulls = counter(
            "tapemetric_pulls",
            "Pulls that succeeded (scheduled and on-demand).",
        );
        let pull_failures = counter(
            "tapemetric_pull_failures",
            "Pulls that failed (retried at the next tick).",
        );
        let refused = counter(
            "tapemetric_requests_refused",
            "Requests answered 429 or 503 with Retry-After: a tenant past its share of reads or \
             on-demand pulls, a query past its time budget, or no read connection free.",
        );
        let last_pull_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "tapemetric_last_pull_timestamp_seconds",
            "Time of the last successful pull.",
            last_pull_seconds.clone(),
        );
        let ingest_lag_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "tapemetric_ingest_lag_seconds",
            "Age of the newest loaded batch object (how far queries trail the edge).",
            ingest_lag_seconds.clone(),
        );
        // 0.1 ms to ~3.3 s: answers from memory take a millisecond, DuckDB's up to their budget.
        let query_seconds = Family::<Route, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
        });
        registry.register(
            "tapemetric_query_duration_seconds",
            "Time to answer a query API request, by route.",
            query_seconds.clone(),
        );
        Telemetry {
            registry,
            objects_loaded,
            events_loaded,
            duplicates_skipped,
            objects_quarantined,
            lines_quarantined,
            pulls,
            pull_failures,
            refused,
            last_pull_seconds,
            ingest_lag_seconds,
            query_seconds,
            last_pull_ms: AtomicI64::new(0),
            newest_object_upload_ms: AtomicI64::new(0),
        }
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("last_pull_ms", &self.last_pull_ms)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Records a successful pull.
    pub fn pulled(&self, report: &PullReport, now_ms: i64, newest_upload_ms: Option<i64>) {
        self.objects_loaded.inc_by(report.objects_loaded);
        self.events_loaded.inc_by(report.events_loaded);
        self.duplicates_skipped.inc_by(report.duplicates_skipped);
        self.objects_quarantined.inc_by(report.objects_quarantined);
        self.lines_quarantined.inc_by(report.lines_quarantined);
        self.pulls.inc();
        self.last_pull_ms.store(now_ms, Ordering::Relaxed);
        self.last_pull_seconds.set(now_ms as f64 / 1000.0);
        if let Some(ms) = newest_upload_ms {
            self.newest_object_upload_ms
                .fetch_max(ms, Ordering::Relaxed);
        }
    }

    /// Records a failed pull.
    pub fn pull_failed(&self) {
        self.pull_failures.inc();
    }

    /// Records a request refused to keep tenants apart (429 or 503 with `Retry-After`).
    pub fn refused(&self) {
        self.refused.inc();
    }

    /// Records how long a query of `route` (its declared template) took.
    pub fn queried(&self, route: &str, seconds: f64) {
        self.query_seconds
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Time of the last successful pull, epoch ms (0: none yet).
    pub fn last_pull_ms(&self) -> i64 {
        self.last_pull_ms.load(Ordering::Relaxed)
    }

    /// The OpenMetrics text exposition, with the ingest lag as of `now_ms`.
    pub fn render(&self, now_ms: i64) -> String {
        let newest = self.newest_object_upload_ms.load(Ordering::Relaxed);
        let lag = if newest > 0 {
            (now_ms - newest).max(0) as f64 / 1000.0
        } else {
            0.0
        };
        self.ingest_lag_seconds.set(lag);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("the metrics could not be written out");
        }
        out
    }
}

/// The content type of [`Telemetry::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
        t.queried("/data/views/query", 0.0015);
        t.queried("/data/views/query", 0.0003);
        t.queried("/api/v1/plays", 0.2);
        let text = t.render(12_000);
        for line in [
            "tapemetric_events_loaded_total 80",
            "tapemetric_pull_failures_total 1",
            "tapemetric_pulls_total 2",
            "tapemetric_objects_quarantined_total 2",
            "tapemetric_lines_quarantined_total 10",
            "tapemetric_ingest_lag_seconds 3.0",
            "tapemetric_last_pull_timestamp_seconds 12.0",
            "tapemetric_query_duration_seconds_count{route=\"/data/views/query\"} 2",
            "tapemetric_query_duration_seconds_count{route=\"/api/v1/plays\"} 1",
            // Of the two queries, one took under 0.4 ms.
            "tapemetric_query_duration_seconds_bucket{le=\"0.0004\",route=\"/data/views/query\"} 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }
}
