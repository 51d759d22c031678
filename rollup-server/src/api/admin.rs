//! Admin routes: `POST /admin/ingest` (flush the edge, pull everything, answer with what was loaded)
//! and `GET /admin/quarantine` (what loads left out of the tenant's objects, and why).

use super::{ApiError, AppState, Auth};
use crate::pipeline::pull::{with_store, TenantPull};
use crate::store::QuarantineEntry;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

/// The caller's share of an on-demand pull (other tenants' figures are never shown).
#[derive(Debug, Serialize)]
pub struct IngestAnswer {
    pub tenant_id: String,
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates_skipped: u64,
    /// Objects left out whole, and lines left out: `GET /admin/quarantine` says why.
    pub objects_quarantined: u64,
    pub lines_quarantined: u64,
}

/// How long a refused on-demand pull waits before its 429 is sent.
const REFUSAL_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// Flushes the edge's buffers and pulls every new object, within the tenant's allowance; callers that
/// arrive during a flush-and-pull share the next one (see [`crate::pipeline::on_demand`]).
pub async fn ingest(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<IngestAnswer>, ApiError> {
    auth.require_admin()?;
    if let Err(seconds) = state
        .pipeline
        .on_demand
        .take(&auth.0.tenant, std::time::Instant::now())
    {
        state.telemetry.refused();
        // The refusal is held a moment: a client asking in a loop without reading Retry-After costs
        // a sleeping task instead of a core (`make bench-hostile` runs such a client).
        tokio::time::sleep(REFUSAL_HOLD).await;
        return Err(ApiError::TooManyRequests {
            message: format!(
                "this tenant has used its {} on-demand pulls (one more every {} s); the next is allowed \
                 in {seconds} s, and scheduled pulls go on meanwhile",
                crate::pipeline::on_demand::BURST,
                crate::pipeline::on_demand::REFILL.as_secs()
            ),
            retry_after_s: seconds,
        });
    }
    let ticket = state.pipeline.on_demand.arrive();
    let report = state.pipeline.pull_on_demand(ticket).await?;
    let mine: TenantPull = report
        .tenants
        .get(&auth.0.tenant)
        .cloned()
        .unwrap_or_default();
    Ok(Json(IngestAnswer {
        tenant_id: auth.0.tenant,
        objects_loaded: mine.objects_loaded,
        events_loaded: mine.events_loaded,
        duplicates_skipped: mine.duplicates_skipped,
        objects_quarantined: mine.objects_quarantined,
        lines_quarantined: mine.lines_quarantined,
    }))
}

/// Entries `GET /admin/quarantine` lists at most (newest first).
const QUARANTINE_LISTED: usize = 1000;

/// The tenant's quarantine, newest first.
#[derive(Debug, Serialize)]
pub struct QuarantineAnswer {
    pub tenant_id: String,
    pub quarantine: Vec<QuarantineEntry>,
}

/// Lists what loads left out of the caller's tenant's lake objects, and why.
pub async fn quarantine(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<QuarantineAnswer>, ApiError> {
    auth.require_admin()?;
    let tenant = auth.0.tenant.clone();
    let entries = with_store(&state.pipeline.store, move |s| {
        s.quarantine(&tenant, QUARANTINE_LISTED)
    })
    .await?;
    Ok(Json(QuarantineAnswer {
        tenant_id: auth.0.tenant,
        quarantine: entries,
    }))
}
