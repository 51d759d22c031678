//! JWTs (HS256) that carry the tenant and role for the query APIs. The tenant of every query comes
//! from here, never from request parameters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read the query APIs.
    Viewer,
    /// Also manage keys and trigger ingest.
    Admin,
}

/// The claims of a Tapemetric token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub tenant: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    /// Not valid before this time (epoch seconds), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// The longest a token may live (`exp - iat`): 31 days. A leaked token then stops working within a
/// month whatever it claims; `rollup-server token` refuses longer lifetimes.
pub const MAX_TOKEN_LIFETIME_S: i64 = 31 * 86_400;

/// How far `iat` and `nbf` may lie ahead of this server's clock (clocks of two machines differ).
pub const CLOCK_SKEW_S: i64 = 60;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed: expected a JWT (header.claims.signature)")]
    Malformed,
    #[error("token must be signed with HS256")]
    WrongAlgorithm,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired; mint a new one with `rollup-server token --tenant <id>`")]
    Expired,
    #[error("token is not valid yet (`nbf` or `iat` lies in the future); check the clock of the machine that minted it")]
    NotYetValid,
    #[error("token lives longer than 31 days (`exp` - `iat`); mint one with `rollup-server token --ttl-hours 744` or less")]
    TooLong,
    #[error("token has no valid tenant")]
    BadTenant,
}

/// Mints and verifies tokens under one secret.
#[derive(Clone)]
pub struct TokenAuthority {
    mac: Hmac<Sha256>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

impl TokenAuthority {
    /// An authority for `secret`.
    pub fn new(secret: &[u8]) -> TokenAuthority {
        // HMAC takes keys of any length.
        let mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        TokenAuthority { mac }
    }

    /// A signed token for `claims`.
    pub fn mint(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{body}");
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks signature, algorithm, expiry and tenant; returns the claims.
    pub fn verify(&self, token: &str, now_s: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = decode_json(header)?;
        // Only HS256: `none` and every other algorithm are refused before anything else.
        if header.alg != "HS256" {
            return Err(TokenError::WrongAlgorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(&token.as_bytes()[..header_and_body_len(token)]);
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode_json(body)?;
        if claims.exp <= now_s {
            return Err(TokenError::Expired);
        }
        let not_before = claims.nbf.unwrap_or(i64::MIN).max(claims.iat);
        if not_before > now_s.saturating_add(CLOCK_SKEW_S) {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp.saturating_sub(claims.iat) > MAX_TOKEN_LIFETIME_S {
            return Err(TokenError::TooLong);
        }
        if !event_schema::api_key::is_valid_tenant_id(&claims.tenant) {
            return Err(TokenError::BadTenant);
        }
        Ok(claims)
    }
}

fn header_and_body_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            tenant: "acme".into(),
            role: Role::Admin,
            iat: 0,
            exp,
            nbf: None,
        }
    }

    #[test]
    fn tokens_from_the_future_are_refused() {
        let authority = TokenAuthority::new(b"s");
        let now = 1_000_000;
        let year = 365 * 86_400;
        let future_iat = Claims {
            iat: now + year,
            exp: now + year + 3600,
            ..claims(0)
        };
        assert_eq!(
            authority.verify(&authority.mint(&future_iat), now),
            Err(TokenError::NotYetValid)
        );
        let future_nbf = Claims {
            iat: now,
            exp: now + 3600,
            nbf: Some(now + year),
            ..claims(0)
        };
        assert_eq!(
            authority.verify(&authority.mint(&future_nbf), now),
            Err(TokenError::NotYetValid)
        );
        // A clock a few seconds ahead is not the future.
        let skewed = Claims {
            iat: now + 30,
            exp: now + 3600,
            nbf: Some(now + 30),
            ..claims(0)
        };
        assert!(authority.verify(&authority.mint(&skewed), now).is_ok());
    }

    #[test]
    fn tokens_living_longer_than_31_days_are_refused() {
        let authority = TokenAuthority::new(b"s");
        let century = Claims {
            iat: 0,
            exp: 100 * 365 * 86_400,
            ..claims(0)
        };
        assert_eq!(
            authority.verify(&authority.mint(&century), 10),
            Err(TokenError::TooLong)
        );
        let longest = claims(MAX_TOKEN_LIFETIME_S);
        assert!(authority.verify(&authority.mint(&longest), 10).is_ok());
        assert_eq!(
            authority.verify(&authority.mint(&claims(MAX_TOKEN_LIFETIME_S + 1)), 10),
            Err(TokenError::TooLong)
        );
    }

    #[test]
    fn minted_token_verifies() {
        let authority = TokenAuthority::new(b"s");
        let token = authority.mint(&claims(100));
        assert_eq!(authority.verify(&token, 50), Ok(claims(100)));
    }

    #[test]
    fn expired_token_is_refused() {
        let authority = TokenAuthority::new(b"s");
        assert_eq!(
            authority.verify(&authority.mint(&claims(100)), 100),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let token = TokenAuthority::new(b"other").mint(&claims(100));
        assert_eq!(
            TokenAuthority::new(b"s").verify(&token, 50),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(100)).expect("json"));
        let token = format!("{header}.{body}.");
        assert_eq!(
            TokenAuthority::new(b"s").verify(&token, 50),
            Err(TokenError::WrongAlgorithm)
        );
    }

    #[test]
    fn tampered_claims_are_refused() {
        let authority = TokenAuthority::new(b"s");
        let token = authority.mint(&claims(100));
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = claims(100);
        other.tenant = "victim".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).expect("json"));
        let forged = format!("{}.{}.{}", parts[0], forged_body, parts[2]);
        assert_eq!(authority.verify(&forged, 50), Err(TokenError::BadSignature));
    }
}
