//! API keys: their records (never the key strings), revocations, and the policy document the edge
//! checks keys against.

use super::{Store, StoreError};
use duckdb::params;
use event_schema::key_policy::{KeyPolicies, KeyRestrictions, KeyRules};

/// An API key's record (never the key string).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// Allowed origins, rate limit, UA opt-in.
    #[serde(flatten)]
    pub rules: KeyRules,
}

impl Store {
    /// Records a new API key.
    pub fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let origins =
            serde_json::to_string(&key.rules.allowed_origins).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            "INSERT INTO api_keys (key_id, tenant_id, name, created_at_ms, revoked_at_ms, allowed_origins, rate_limit_per_minute, store_user_agent)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                key.key_id,
                key.tenant_id,
                key.name,
                key.created_at_ms,
                key.revoked_at_ms,
                origins,
                key.rules.rate_limit_per_minute,
                key.rules.store_user_agent
            ],
        )?;
        Ok(())
    }

    /// A tenant's API keys, newest first.
    pub fn api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.select_keys("WHERE tenant_id = ?", params![tenant_id])
    }

    fn select_keys(
        &self,
        filter: &str,
        args: &[&dyn duckdb::ToSql],
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        // `filter` is one of this module's constant strings, never request input.
        let mut stmt = self.conn.prepare(&format!(
            "SELECT key_id, tenant_id, name, created_at_ms, revoked_at_ms, allowed_origins, rate_limit_per_minute,
                    coalesce(store_user_agent, false)
             FROM api_keys {filter} ORDER BY created_at_ms DESC, key_id"
        ))?;
        let rows = stmt
            .query_map(args, |row| {
                let origins: Option<String> = row.get(5)?;
                Ok(ApiKeyRecord {
                    key_id: row.get(0)?,
                    tenant_id: row.get(1)?,
                    name: row.get(2)?,
                    created_at_ms: row.get(3)?,
                    revoked_at_ms: row.get(4)?,
                    rules: KeyRules {
                        allowed_origins: origins
                            .and_then(|o| serde_json::from_str(&o).ok())
                            .unwrap_or_default(),
                        rate_limit_per_minute: row.get(6)?,
                        store_user_agent: row.get(7)?,
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Revokes a tenant's key. Returns false when the tenant has no such key.
    pub fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE api_keys SET revoked_at_ms = coalesce(revoked_at_ms, ?) WHERE tenant_id = ? AND key_id = ?",
            params![now_ms, tenant_id, key_id],
        )?;
        Ok(changed > 0)
    }

    /// The policy document for the edge: revoked key ids and live keys' restrictions.
    pub fn key_policies(&self) -> Result<KeyPolicies, StoreError> {
        let mut policies = KeyPolicies::default();
        for key in self.select_keys("", &[])? {
            if key.revoked_at_ms.is_some() {
                policies.revoked.push(key.key_id);
            } else if !key.rules.is_default() {
                policies.keys.push(KeyRestrictions {
                    key_id: key.key_id,
                    rules: key.rules,
                });
            }
        }
        policies.revoked.sort();
        Ok(policies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_policies_carry_restrictions_and_revocations_scoped_to_the_tenant() {
        let store = Store::open_in_memory().expect("store");
        let key = ApiKeyRecord {
            key_id: "k1".into(),
            tenant_id: "acme".into(),
            name: "web".into(),
            created_at_ms: 1,
            revoked_at_ms: None,
            rules: KeyRules {
                allowed_origins: vec!["https://acme.tv".into()],
                rate_limit_per_minute: Some(60),
                store_user_agent: true,
            },
        };
        store.insert_api_key(&key).expect("insert");
        assert_eq!(store.api_keys("acme").expect("list"), vec![key.clone()]);
        assert!(!store.revoke_api_key("other", "k1", 5).expect("revoke"));
        let live = store.key_policies().expect("policies");
        assert!(live.revoked.is_empty());
        assert_eq!(
            live.keys[0].rules.allowed_origins,
            vec!["https://acme.tv".to_string()]
        );
        assert!(store.revoke_api_key("acme", "k1", 5).expect("revoke"));
        let after = store.key_policies().expect("policies");
        assert_eq!(after.revoked, vec!["k1".to_string()]);
        assert!(after.keys.is_empty());
    }
}
