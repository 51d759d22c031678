//! API keys: create, list, revoke. Restrictions and revocations reach the edge at once on change,
//! on every pull, and every 30 s.

use super::{ApiError, AppState, Auth};
use crate::clock::now_ms;
use crate::pipeline::pull::{push_key_policies, with_store};
use crate::store::keys::ApiKeyRecord;
use crate::store::{Store, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use event_schema::api_key::{is_valid_key_id, ApiKey, ApiKeyVerifier};
use event_schema::key_policy::{normalize_origin, KeyRules};
use serde::{Deserialize, Serialize};

/// Most allowed origins per key.
const MAX_ALLOWED_ORIGINS: usize = 50;

/// Body of `POST /api/v1/keys`.
#[derive(Debug, Deserialize)]
pub struct CreateKey {
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rules: KeyRules,
}

/// A newly issued key: the only time the key string is shown.
#[derive(Debug, Serialize)]
pub struct IssuedKey {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub key: String,
    pub created_at_ms: i64,
    #[serde(flatten)]
    pub rules: KeyRules,
}

/// A fresh random key id (16 lowercase hex characters).
pub fn new_key_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Checks and normalises key options; the message says what to fix.
fn checked_rules(options: KeyRules) -> Result<KeyRules, String> {
    if options.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
        return Err(format!(
            "`allowed_origins` takes at most {MAX_ALLOWED_ORIGINS} origins"
        ));
    }
    let allowed_origins = options
        .allowed_origins
        .iter()
        .map(|o| normalize_origin(o).map_err(|e| format!("`allowed_origins`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if options.rate_limit_per_minute == Some(0) {
        return Err("`rate_limit_per_minute` must be at least 1".into());
    }
    Ok(KeyRules {
        allowed_origins,
        ..options
    })
}

/// Issues a key for a tenant and records it.
pub fn issue_key(
    store: &Store,
    verifier: &ApiKeyVerifier,
    tenant_id: &str,
    name: &str,
    rules: KeyRules,
) -> Result<IssuedKey, StoreError> {
    let record = ApiKeyRecord {
        key_id: new_key_id(),
        tenant_id: tenant_id.to_string(),
        name: name.to_string(),
        created_at_ms: now_ms(),
        revoked_at_ms: None,
        rules,
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
        rules: record.rules,
    })
}

/// `POST /api/v1/keys` (admin): issue a key for the token's tenant.
pub async fn create_key(
    State(state): State<AppState>,
    auth: Auth,
    body: Option<Json<CreateKey>>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    auth.require_admin()?;
    let (name, options) = match body {
        Some(Json(b)) => (b.name.unwrap_or_else(|| "default".into()), b.rules),
        None => ("default".into(), KeyRules::default()),
    };
    if name.len() > 100 {
        return Err(ApiError::bad_request("`name` must be at most 100 bytes"));
    }
    let rules = checked_rules(options).map_err(ApiError::bad_request)?;
    let verifier = state.keys.clone();
    let tenant = auth.0.tenant;
    let restricted = !rules.is_default();
    let issued = with_store(&state.pipeline.store, move |s| {
        issue_key(s, &verifier, &tenant, &name, rules)
    })
    .await?;
    if restricted {
        push_key_policies(&state.pipeline.store, &state.pipeline.lake).await?;
    }
    Ok((StatusCode::CREATED, Json(issued)))
}

/// One entry of `GET /api/v1/keys`: mave's `key` and `disabled_at`, and the record.
#[derive(Debug, Serialize)]
pub struct ListedKey {
    pub key: String,
    /// When the key was revoked (RFC 3339), or null while it works.
    pub disabled_at: Option<String>,
    #[serde(flatten)]
    pub record: ApiKeyRecord,
}

/// `GET /api/v1/keys` (admin): the token's tenant's keys, as mave lists them (`key`, `disabled_at`).
/// The key strings are derived again from the server secret: none is stored.
pub async fn list_keys(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth.require_admin()?;
    let tenant = auth.0.tenant;
    let records = with_store(&state.pipeline.store, move |s| s.api_keys(&tenant)).await?;
    let keys: Vec<ListedKey> = records
        .into_iter()
        .map(|record| ListedKey {
            key: state.keys.issue(&ApiKey {
                tenant_id: record.tenant_id.clone(),
                key_id: record.key_id.clone(),
            }),
            disabled_at: record.revoked_at_ms.map(rfc3339),
            record,
        })
        .collect();
    Ok(Json(serde_json::json!({ "keys": keys })))
}

/// Epoch ms as an RFC 3339 date-time.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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
    let found = with_store(&state.pipeline.store, move |s| {
        s.revoke_api_key(&tenant, &id, now_ms())
    })
    .await?;
    if !found {
        return Err(ApiError::NotFound(format!(
            "no key `{key_id}` for this tenant"
        )));
    }
    let pushed = push_key_policies(&state.pipeline.store, &state.pipeline.lake).await?;
    Ok(Json(serde_json::json!({
        "message": "Key revoked",
        "key_id": key_id,
        "revoked": true,
        "edge_updated": pushed,
        "note": "the edge refuses this key within 60 seconds"
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_normalised_and_bad_ones_named() {
        let ok = checked_rules(KeyRules {
            allowed_origins: vec!["https://Acme.tv/".into()],
            rate_limit_per_minute: Some(10),
            store_user_agent: false,
        })
        .expect("valid");
        assert_eq!(ok.allowed_origins, vec!["https://acme.tv".to_string()]);
        let bad = checked_rules(KeyRules {
            allowed_origins: vec!["acme.tv".into()],
            rate_limit_per_minute: None,
            store_user_agent: false,
        })
        .expect_err("no scheme");
        assert!(bad.contains("allowed_origins"));
        assert!(checked_rules(KeyRules {
            allowed_origins: vec![],
            rate_limit_per_minute: Some(0),
            store_user_agent: false,
        })
        .is_err());
    }
}
