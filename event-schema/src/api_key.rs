//! API keys: `tmk_<tenant>_<key id>_<signature>`, where the signature is an HMAC-SHA256 of tenant and
//! key id under a secret shared by the edge and the rollup server. The edge verifies a key with no
//! network round trip; revocation is a separate list of key ids (see docs/architecture.md).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "tmk";
/// Bytes of the HMAC kept in a key (128 bits).
const SIGNATURE_BYTES: usize = 16;

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("API key is malformed: expected `tmk_<tenant>_<key id>_<signature>`")]
    Malformed,
    #[error(
        "API key signature does not match: the key is forged or was issued under another secret"
    )]
    BadSignature,
}

/// The identity an API key carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub tenant_id: String,
    pub key_id: String,
}

/// True for tenant ids: 1..=64 of lowercase ASCII letters, digits and `-`.
pub fn is_valid_tenant_id(tenant_id: &str) -> bool {
    (1..=64).contains(&tenant_id.len())
        && tenant_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// True for key ids: 1..=32 of lowercase ASCII letters and digits.
pub fn is_valid_key_id(key_id: &str) -> bool {
    (1..=32).contains(&key_id.len())
        && key_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Compares two secrets without stopping at the first difference (no timing hint).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs and verifies API keys under one secret.
#[derive(Clone)]
pub struct ApiKeyVerifier {
    mac: Hmac<Sha256>,
}

impl ApiKeyVerifier {
    /// A verifier for keys signed with `secret`.
    pub fn new(secret: &[u8]) -> ApiKeyVerifier {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        ApiKeyVerifier { mac }
    }

    fn signature(&self, tenant_id: &str, key_id: &str) -> [u8; SIGNATURE_BYTES] {
        let mut mac = self.mac.clone();
        mac.update(tenant_id.as_bytes());
        mac.update(b"\0");
        mac.update(key_id.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; SIGNATURE_BYTES];
        out.copy_from_slice(&full[..SIGNATURE_BYTES]);
        out
    }

    /// The key string for a tenant and key id. Both must be valid ids.
    pub fn issue(&self, key: &ApiKey) -> String {
        let signature = URL_SAFE_NO_PAD.encode(self.signature(&key.tenant_id, &key.key_id));
        format!("{PREFIX}_{}_{}_{signature}", key.tenant_id, key.key_id)
    }

    /// Checks a key string and returns the identity it carries.
    pub fn verify(&self, key: &str) -> Result<ApiKey, ApiKeyError> {
        let mut parts = key.splitn(4, '_');
        let (Some(PREFIX), Some(tenant_id), Some(key_id), Some(signature)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiKeyError::Malformed);
        };
        if !is_valid_tenant_id(tenant_id) || !is_valid_key_id(key_id) {
            return Err(ApiKeyError::Malformed);
        }
        let given = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ApiKeyError::Malformed)?;
        let expected = self.signature(tenant_id, key_id);
        if !constant_time_eq(&given, &expected) {
            return Err(ApiKeyError::BadSignature);
        }
        Ok(ApiKey {
            tenant_id: tenant_id.to_string(),
            key_id: key_id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey {
            tenant_id: "acme-tv".into(),
            key_id: "k7f3a9".into(),
        }
    }

    #[test]
    fn issued_key_verifies_to_its_identity() {
        let verifier = ApiKeyVerifier::new(b"secret");
        let issued = verifier.issue(&key());
        assert!(issued.starts_with("tmk_acme-tv_k7f3a9_"));
        assert_eq!(verifier.verify(&issued), Ok(key()));
    }

    #[test]
    fn key_under_another_secret_is_refused() {
        let issued = ApiKeyVerifier::new(b"other").issue(&key());
        assert_eq!(
            ApiKeyVerifier::new(b"secret").verify(&issued),
            Err(ApiKeyError::BadSignature)
        );
    }

    #[test]
    fn tampered_tenant_is_refused() {
        let verifier = ApiKeyVerifier::new(b"secret");
        let forged = verifier.issue(&key()).replace("acme-tv", "evil-tv");
        assert_eq!(verifier.verify(&forged), Err(ApiKeyError::BadSignature));
    }

    #[test]
    fn truncated_and_garbage_keys_are_malformed() {
        let verifier = ApiKeyVerifier::new(b"secret");
        let issued = verifier.issue(&key());
        for bad in [
            "",
            "tmk",
            "tmk_acme",
            &issued[..issued.len() - 3],
            "tmk_ACME_k1_abc",
        ] {
            assert!(verifier.verify(bad).is_err(), "{bad} should be refused");
        }
    }
}
