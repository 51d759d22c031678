//! Views per content: the foundation's end-to-end query.

use super::{ApiError, AppState, Auth};
use crate::query::ContentViews;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Query parameters: an optional `[from, to)` window in epoch ms.
#[derive(Debug, Deserialize)]
pub struct ViewsQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// `{"tenant_id": "...", "views": [{"content_id": "...", "views": N}]}`
#[derive(Debug, Serialize)]
pub struct ViewsByContent {
    tenant_id: String,
    views: Vec<ContentViews>,
}

/// `GET /api/v1/views/by-content?from=&to=`: views started per content id.
pub async fn views_by_content(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ViewsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ViewsByContent>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "`from` and `to` must be epoch milliseconds: {}",
            e.body_text()
        ))
    })?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from >= to {
            return Err(ApiError::bad_request("`from` must be earlier than `to`"));
        }
    }
    let tenant = auth.0.tenant.clone();
    let views = super::with_views(&state, &auth.0.tenant, move |index| {
        index.views_by_content(&tenant, query.from, query.to)
    })
    .await?;
    Ok(Json(ViewsByContent {
        tenant_id: auth.0.tenant,
        views,
    }))
}
