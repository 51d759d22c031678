//! `POST /admin/ingest`: flush the edge, pull everything, answer with what was loaded.

use super::{ApiError, AppState, Auth};
use crate::pull::TenantPull;
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
}

/// Flushes the edge's buffers and pulls every new object.
pub async fn ingest(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<IngestAnswer>, ApiError> {
    auth.require_admin()?;
    let _one_pull_at_a_time = state.pull_lock.lock().await;
    let report = super::pull_and_record(&state, true).await?;
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
    }))
}
