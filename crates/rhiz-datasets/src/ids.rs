//! Deterministic DIDs: the mapping of edge-list identifiers and the DIDs of
//! generated entities.

use rhiz_protocol::Did;

use crate::hash::{base32_120_into, hash128, mix64};

/// The DID an edge-list identifier stands for.
///
/// A value that parses as a DID is kept as it is. Any other value maps to
/// `did:plc:` followed by 24 characters of lowercase base32 (`a-z2-7`):
///
/// 1. `h1` = SplitMix64-finalizer(FNV-1a 64 of the identifier's UTF-8 bytes);
/// 2. `h2` = SplitMix64-finalizer(FNV-1a 64 of the same bytes, starting from
///    the offset basis `0xcbf29ce484222325 ^ 0x243f6a8885a308d3`);
/// 3. the 24 characters are the top 120 bits of the 128-bit `h1:h2`, 5 bits
///    each, most significant first.
///
/// The mapping is stable across versions and platforms. Identifiers are
/// compared byte for byte: `Alice` and `alice` are different entities.
///
/// ```
/// use rhiz_protocol::Did;
/// use rhiz_datasets::map_identifier;
///
/// let did = map_identifier("1234");
/// assert_eq!(did.method(), "plc");
/// assert_eq!(did.method_specific_id().len(), 24);
/// assert_eq!(map_identifier("1234"), did);
///
/// let kept = map_identifier("did:web:example.com");
/// assert_eq!(kept.as_str(), "did:web:example.com");
/// ```
pub fn map_identifier(raw: &str) -> Did {
    if let Ok(did) = raw.parse::<Did>() {
        return did;
    }
    let (h1, h2) = hash128(raw.as_bytes());
    plc_did(h1, h2)
}

/// The DID of entity `index` of a generated dataset with `seed`.
///
/// The first 64 of its 120 bits are a bijection of `index` for a given seed,
/// so distinct indexes always give distinct DIDs.
pub(crate) fn generated_did(seed: u64, index: u64) -> Did {
    let hi = mix64(index ^ mix64(seed ^ 0x6469_643a_706c_633a));
    let lo = mix64(hi ^ 0x5eed_5eed_5eed_5eed);
    plc_did(hi, lo)
}

/// `did:plc:` + the 24 base32 characters of the top 120 bits of `hi:lo`.
fn plc_did(hi: u64, lo: u64) -> Did {
    let mut text = String::with_capacity(32);
    text.push_str("did:plc:");
    base32_120_into(hi, lo, &mut text);
    // 24 characters of a-z2-7 after `did:plc:` always form a valid DID; the
    // parse cannot fail, but a failure is kept visible rather than hidden.
    text.parse()
        .unwrap_or_else(|e| unreachable!("did:plc with base32 id is valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn dids_are_kept_and_other_values_are_hashed() {
        let plc = "did:plc:eygmaihciaxprqvxpfvl6flk";
        assert_eq!(map_identifier(plc).as_str(), plc);
        for raw in ["alice", "1", "did:PLC:x", "did:", " did:plc:abc", "ü"] {
            let did = map_identifier(raw);
            assert_eq!(did.method(), "plc", "{raw:?}");
            let id = did.method_specific_id();
            assert_eq!(id.len(), 24);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
        }
        assert_ne!(map_identifier("alice"), map_identifier("Alice"));
    }

    #[test]
    fn mapping_is_pinned() {
        // Changing the mapping would silently re-key every imported dataset.
        assert_eq!(map_identifier("1").as_str(), PINNED_1);
        assert_eq!(map_identifier("alice").as_str(), PINNED_ALICE);
    }

    const PINNED_1: &str = "did:plc:i2d43e4232x57giyhzagqupi";
    const PINNED_ALICE: &str = "did:plc:yxivk3lgo5ffzqoa4snp6wlw";

    #[test]
    fn a_million_sequential_ids_do_not_collide() {
        let mut seen = HashSet::with_capacity(1_000_000);
        for i in 0..1_000_000u32 {
            assert!(
                seen.insert(map_identifier(&i.to_string())),
                "collision at {i}"
            );
        }
    }

    #[test]
    fn generated_dids_are_distinct_per_index_and_seed() {
        let mut seen = HashSet::new();
        for seed in 0..3 {
            for i in 0..10_000 {
                assert!(seen.insert(generated_did(seed, i)));
            }
        }
    }
}
