//! API key verification and origin normalisation: any string is refused or accepted without a panic,
//! and only a key this secret issued verifies.
#![no_main]

use event_schema::api_key::{ApiKey, ApiKeyVerifier};
use event_schema::key_policy::normalize_origin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let verifier = ApiKeyVerifier::new(b"fuzz-secret");
    if let Ok(key) = verifier.verify(text) {
        // Only issued keys verify: the text must be exactly what issuing that key gives.
        assert_eq!(
            verifier.issue(&ApiKey {
                tenant_id: key.tenant_id,
                key_id: key.key_id
            }),
            text
        );
    }
    if let Ok(origin) = normalize_origin(text) {
        assert_eq!(
            normalize_origin(&origin).as_deref(),
            Ok(origin.as_str()),
            "normalising is idempotent"
        );
    }
});
