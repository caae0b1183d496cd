//! Content-derived CIDv1 strings for generated records.

use rhiz_protocol::Cid;

use crate::hash::{base32_into, mix64, FNV_OFFSET};

/// CIDv1 header: version 1, codec dag-cbor (0x71), multihash sha2-256
/// (0x12) with a 32-byte digest (0x20). Its base32 text starts `bafyrei`.
const HEADER: [u8; 4] = [0x01, 0x71, 0x12, 0x20];

/// FNV-1a 64 prime, used by the four digest lanes.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// A CIDv1 (`bafyrei…`, 59 characters) whose digest is derived from `bytes`.
///
/// The digest is **not** SHA-256: it is four FNV-1a-style 64-bit lanes over
/// the 8-byte little-endian words of `bytes` (the last one zero-padded),
/// each started from its own basis and finished with the SplitMix64
/// finalizer and the length. It has the shape and the property that matter
/// here: the same content always gives the same CID, different content a
/// different one (with overwhelming probability), so `(uri, cid)`
/// idempotency behaves as with real records.
pub(crate) fn content_cid(bytes: &[u8]) -> Cid {
    let mut lanes = [0u64; 4];
    for (i, lane) in lanes.iter_mut().enumerate() {
        *lane = FNV_OFFSET ^ mix64(i as u64 + 1);
    }
    let mut absorb = |word: u64| {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = (*lane ^ word.rotate_left(16 * i as u32)).wrapping_mul(PRIME);
        }
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        absorb(u64::from_le_bytes(word));
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    absorb(u64::from_le_bytes(last));
    let mut raw = [0u8; 36];
    raw[..4].copy_from_slice(&HEADER);
    for (i, lane) in lanes.iter().enumerate() {
        let word = mix64(*lane ^ (bytes.len() as u64).rotate_left(17 * i as u32));
        raw[4 + 8 * i..12 + 8 * i].copy_from_slice(&word.to_be_bytes());
    }
    let mut text = String::with_capacity(59);
    text.push('b');
    base32_into(&raw, &mut text);
    text.parse()
        .unwrap_or_else(|e| unreachable!("a base32 CIDv1 of a 36-byte CID is valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cids_are_valid_stable_and_content_sensitive() {
        let a = content_cid(b"{\"a\":1}");
        assert!(a.as_str().starts_with("bafyrei"), "{a}");
        assert_eq!(a.as_str().len(), 59);
        assert_eq!(a.version(), 1);
        assert_eq!(content_cid(b"{\"a\":1}"), a);
        assert_ne!(content_cid(b"{\"a\":2}"), a);
        assert_ne!(content_cid(b""), content_cid(b"\0"));
    }
}
