//! Per-key rules the rollup server pushes to the edge: revoked keys, allowed origins, rate limits.

use serde::{Deserialize, Serialize};

/// The whole policy document (`POST /internal/key-policies`); each push replaces the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicies {
    /// Ids of revoked keys: refused.
    #[serde(default)]
    pub revoked: Vec<String>,
    /// Restrictions of live keys (keys without an entry are unrestricted but for the default limit).
    #[serde(default)]
    pub keys: Vec<KeyRestrictions>,
}

/// What one live key may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRestrictions {
    pub key_id: String,
    #[serde(flatten)]
    pub rules: KeyRules,
}

/// The rules a tenant sets on a key when creating it (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRules {
    /// When non-empty, only requests from these origins (`https://example.com`) are accepted.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Requests per minute for this key (the edge's default applies when absent).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// The tenant opted in to keeping the full UA string with each event (off by default).
    #[serde(default)]
    pub store_user_agent: bool,
}

impl KeyRules {
    /// True when the key has no rule beyond the edge's defaults.
    pub fn is_default(&self) -> bool {
        *self == KeyRules::default()
    }
}

/// Why an origin is not acceptable as an allowed origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an origin: expected scheme://host[:port] with http or https and no path")]
pub struct BadOrigin(pub String);

/// Normalises an allowed origin (`https://Example.com/` -> `https://example.com`).
pub fn normalize_origin(origin: &str) -> Result<String, BadOrigin> {
    let trimmed = origin.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| BadOrigin(origin.to_string()))?;
    let valid_host = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if valid_host {
        Ok(lower)
    } else {
        Err(BadOrigin(origin.to_string()))
    }
}

/// The origin of a request: its `Origin` header, or else the origin of its `Referer` (image pixels
/// and some beacons send no `Origin`).
pub fn request_origin(origin: Option<&str>, referer: Option<&str>) -> Option<String> {
    match origin.map(str::trim) {
        // An opaque origin (sandboxed frame, file:, a redirect across origins) is no origin: a key
        // bound to origins refuses it rather than trusting a Referer beside it.
        Some("null") => return None,
        Some(origin) if !origin.is_empty() => {
            return Some(origin.trim_end_matches('/').to_ascii_lowercase())
        }
        _ => {}
    }
    let referer = referer?;
    let scheme_end = referer.find("://")? + 3;
    let host_end = referer[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(referer.len(), |i| scheme_end + i);
    Some(referer[..host_end].to_ascii_lowercase())
}

/// Adds the full UA string to each NDJSON line of stored events (for keys that opted in).
pub fn with_user_agent_string(ndjson: &str, user_agent: &str) -> String {
    let field = serde_json::to_string(user_agent).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(ndjson.len() + ndjson.lines().count() * (field.len() + 16));
    for line in ndjson.lines() {
        match line.strip_prefix('{') {
            Some(rest) if !rest.trim().is_empty() => {
                out.push_str("{\"user_agent\":");
                out.push_str(&field);
                out.push(',');
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// True when a key with `allowed` origins accepts a request from `origin`.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    allowed.is_empty() || origin.is_some_and(|o| allowed.iter().any(|a| a == o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_string_is_added_to_every_line_as_valid_json() {
        let lines = "{\"a\":1}\n{\"b\":2}\n";
        let with = with_user_agent_string(lines, "Mozilla/5.0 \"quoted\"");
        for line in with.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            assert_eq!(v["user_agent"], "Mozilla/5.0 \"quoted\"");
        }
        assert_eq!(with.lines().count(), 2);
    }

    #[test]
    fn origins_are_normalised_and_checked() {
        assert_eq!(
            normalize_origin("https://Example.com/").as_deref(),
            Ok("https://example.com")
        );
        assert_eq!(
            normalize_origin("http://localhost:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        assert!(normalize_origin("example.com").is_err());
        assert!(normalize_origin("https://example.com/path").is_err());
        assert!(normalize_origin("javascript://x").is_err());
    }

    #[test]
    fn request_origin_falls_back_to_the_referer() {
        assert_eq!(
            request_origin(Some("https://a.com"), None).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            request_origin(None, Some("https://b.com:8443/watch?x=1")).as_deref(),
            Some("https://b.com:8443")
        );
        assert_eq!(request_origin(Some("null"), None), None);
        assert_eq!(
            request_origin(Some("null"), Some("https://a.com/page")),
            None,
            "Origin: null is never replaced by a Referer the client chose"
        );
        assert_eq!(request_origin(None, None), None);
    }

    #[test]
    fn unrestricted_keys_accept_anything_and_bound_keys_only_their_origins() {
        let allowed = vec!["https://a.com".to_string()];
        assert!(origin_allowed(&[], None));
        assert!(origin_allowed(&allowed, Some("https://a.com")));
        assert!(!origin_allowed(&allowed, Some("https://evil.com")));
        assert!(!origin_allowed(&allowed, None));
    }
}
