//! API keys: create, list, revoke. Revocations reach the edge at once and on every pull.

use super::{ApiError, AppState, Auth};
use crate::pull::{now_ms, with_store};
use crate::store::ApiKeyRecord;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use event_schema::api_key::{is_valid_key_id, ApiKey, ApiKeyVerifier};
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/keys`.
#[derive(Debug, Deserialize)]
pub struct CreateKey {
    #[serde(default)]
    name: Option<String>,
}

/// A newly issued key: the only time the key string is shown.
#[derive(Debug, Serialize)]
pub struct IssuedKey {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub key: String,
    pub created_at_ms: i64,
}

/// A fresh random key id (16 lowercase hex characters).
pub fn new_key_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Issues a key for a tenant and records it.
pub fn issue_key(
    store: &crate::store::Store,
    verifier: &ApiKeyVerifier,
    tenant_id: &str,
    name: &str,
) -> Result<IssuedKey, crate::store::StoreError> {
    let record = ApiKeyRecord {
        key_id: new_key_id(),
        tenant_id: tenant_id.to_string(),
        name: name.to_string(),
        created_at_ms: now_ms(),
        revoked_at_ms: None,
    };
    store.insert_api_key(&record)?;
    let key = verifier.issue(&ApiKey {
        tenant_id: record.tenant_id.clone(),
        key_id: record.key_id.clone(),
    });
    Ok(IssuedKey {
        key_id: record.key_id,
        tenant_id: record.tenant_id,
        name: record.name,
        key,
        created_at_ms: record.created_at_ms,
    })
}

/// `POST /api/v1/keys` (admin): issue a key for the token's tenant.
pub async fn create_key(
    State(state): State<AppState>,
    auth: Auth,
    body: Option<Json<CreateKey>>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    auth.require_admin()?;
    let name = body
        .and_then(|Json(b)| b.name)
        .unwrap_or_else(|| "default".into());
    if name.len() > 100 {
        return Err(ApiError::bad_request("`name` must be at most 100 bytes"));
    }
    let verifier = state.keys.clone();
    let tenant = auth.0.tenant;
    let issued = with_store(&state.store, move |s| {
        issue_key(s, &verifier, &tenant, &name)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `GET /api/v1/keys`: the token's tenant's keys (never the key strings).
pub async fn list_keys(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = auth.0.tenant;
    let keys = with_store(&state.store, move |s| s.api_keys(&tenant)).await?;
    Ok(Json(serde_json::json!({ "keys": keys })))
}

/// `DELETE /api/v1/keys/{key_id}` (admin): revoke; the edge refuses the key within 60 s.
pub async fn revoke_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(key_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth.require_admin()?;
    if !is_valid_key_id(&key_id) {
        return Err(ApiError::bad_request(
            "`key_id` must be 1-32 lowercase letters and digits",
        ));
    }
    let tenant = auth.0.tenant;
    let id = key_id.clone();
    let found = with_store(&state.store, move |s| {
        s.revoke_api_key(&tenant, &id, now_ms())
    })
    .await?;
    if !found {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no key `{key_id}` for this tenant"),
        ));
    }
    let revoked = with_store(&state.store, |s| s.revoked_key_ids()).await?;
    let pushed = match state.lake.push_revocations(&revoked).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "revocation not pushed yet; the sync loop retries every 30 s");
            false
        }
    };
    Ok(Json(serde_json::json!({
        "key_id": key_id,
        "revoked": true,
        "edge_updated": pushed,
        "note": "the edge refuses this key within 60 seconds"
    })))
}
