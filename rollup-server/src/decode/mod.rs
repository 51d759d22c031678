//! Reading lake objects: gunzip (this module) and the lake line parser ([`line`]).

pub mod line;

use std::io::Read;

/// Largest decompressed batch object accepted, in bytes (the edge writes objects of a few MB).
pub const MAX_OBJECT_BYTES: usize = 512 * 1024 * 1024;

/// Why an object could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("object {index} is not valid gzip: {reason}")]
    Gzip { index: usize, reason: String },
    #[error("object {index} decompresses to more than {MAX_OBJECT_BYTES} bytes")]
    TooLarge { index: usize },
}

/// Decompresses one gzip object (libdeflate; a multi-member stream falls back to flate2).
pub fn gunzip(index: usize, gz: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    gunzip_into(index, gz, &mut out)?;
    Ok(out)
}

/// [`gunzip`] into a buffer kept between objects (a fresh one per object costs page faults).
pub(crate) fn gunzip_into(index: usize, gz: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let bad = |reason: String| DecodeError::Gzip { index, reason };
    if gz.len() < 18 {
        return Err(bad("too short".into()));
    }
    let trailer = &gz[gz.len() - 8..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    // The trailer's size is only a claim: trust it within the object limit and what deflate can
    // expand to (about 1032:1), else stream.
    if size <= MAX_OBJECT_BYTES && size <= gz.len().saturating_mul(1032) {
        out.resize(size, 0);
        let mut decompressor = libdeflater::Decompressor::new();
        if let Ok(n) = decompressor.gzip_decompress(gz, out) {
            // One member ending at the end of the object (its trailer is the object's last 8 bytes).
            if n == size && libdeflater::crc32(out) == crc {
                return Ok(());
            }
        }
    }
    // Several gzip members, or a member larger than 4 GiB: stream it, bounded.
    out.clear();
    flate2::read::MultiGzDecoder::new(gz)
        .take(MAX_OBJECT_BYTES as u64 + 1)
        .read_to_end(out)
        .map_err(|e| bad(e.to_string()))?;
    if out.len() > MAX_OBJECT_BYTES {
        return Err(DecodeError::TooLarge { index });
    }
    Ok(())
}
