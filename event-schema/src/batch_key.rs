//! Names of batch objects in the R2 lake: time-ordered, tenant-partitioned, Hive-style, so that DuckDB,
//! ClickHouse and others read the lake directly:
//! `events/v1/date=YYYY-MM-DD/hour=HH/tenant=T/<ulid>.ndjson.gz`.

use crate::civil_time::UtcHour;

/// Prefix of every batch object.
pub const LAKE_PREFIX: &str = "events/v1/";

/// The name of one batch object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchObjectKey(String);

impl BatchObjectKey {
    /// Builds the key of a batch flushed at `flushed_at_ms` for `tenant_id`. `random` supplies the 80
    /// random bits of the ULID (from the platform's RNG; this crate does no I/O).
    pub fn new(tenant_id: &str, flushed_at_ms: i64, random: [u8; 10]) -> BatchObjectKey {
        let hour = UtcHour::from_epoch_ms(flushed_at_ms);
        BatchObjectKey(format!(
            "{LAKE_PREFIX}date={}/hour={:02}/tenant={tenant_id}/{}.ndjson.gz",
            hour.date_string(),
            hour.hour,
            ulid(flushed_at_ms, random)
        ))
    }

    /// The key of the first object that could hold batches flushed at or after `epoch_ms`: a listing
    /// that starts after this sees every later object.
    pub fn listing_start_for(epoch_ms: i64) -> String {
        let hour = UtcHour::from_epoch_ms(epoch_ms);
        format!("{LAKE_PREFIX}date={}/", hour.date_string())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ULID: 48-bit millisecond time and 80 random bits in Crockford base32 (26 characters), so names
/// sort by time.
pub fn ulid(epoch_ms: i64, random: [u8; 10]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut value: u128 = (u128::from(epoch_ms.max(0) as u64) & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (72 - 8 * i);
    }
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (5 * i)) & 0x1F) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_hive_partitioned_by_date_hour_and_tenant() {
        let key = BatchObjectKey::new("acme", 1_795_573_874_000, [0; 10]);
        assert!(key
            .as_str()
            .starts_with("events/v1/date=2026-11-25/hour=02/tenant=acme/"));
        assert!(key.as_str().ends_with(".ndjson.gz"));
    }

    #[test]
    fn ulids_sort_by_time() {
        let a = ulid(1_000, [255; 10]);
        let b = ulid(1_001, [0; 10]);
        assert_eq!(a.len(), 26);
        assert!(a < b);
    }
}
