//! Seeded synthetic graphs and record builders for examples, tests and
//! benchmarks. Not part of the supported API.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rhiz_protocol::{AtUri, AttestationType, Percent};

use crate::{AttestationInput, RelationshipInput};

/// The collection of relationship records.
const RELATIONSHIP: &str = "net.rhiz.relationship.record";
/// The collection of attestation records.
const ATTESTATION: &str = "net.rhiz.relationship.attestation";
/// The base32 alphabet of CIDs and of the generated identifiers.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// SplitMix64: a tiny, fast, seeded generator (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), with a negligible bias.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// `len` base32 characters spelling `value` (and a mix of it).
fn base32(mut value: u64, len: usize) -> String {
    let mut mix = SplitMix64::new(value);
    (0..len)
        .map(|i| {
            let digit = if i < 12 {
                let d = value % 32;
                value /= 32;
                d
            } else {
                mix.next_u64() % 32
            };
            char::from(BASE32[usize::try_from(digit).expect("digit < 32")])
        })
        .collect()
}

/// A `did:plc` DID for number `n`.
pub fn did(n: u64) -> String {
    format!("did:plc:{}", base32(n, 24))
}

/// A canonical CIDv1 (dag-cbor, sha-256) with a pseudo-random digest for
/// number `n`.
pub fn cid(n: u64) -> String {
    let mut bytes = [0u8; 36];
    bytes[..4].copy_from_slice(&[0x01, 0x71, 0x12, 0x20]);
    let mut rng = SplitMix64::new(n);
    for chunk in bytes[4..].chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    crate::compact::encode(&bytes)
}

/// A relationship from `a` to `b` (both DID strings) authored by `a`, of
/// type `professional`, discoverable, signed by both, without strength
/// history, with record key `rkey`.
///
/// # Panics
///
/// When an argument is not valid syntax.
pub fn relationship(a: &str, b: &str, strength: u8, rkey: &str) -> RelationshipInput {
    relationship_of_type(a, b, strength, rkey, "professional")
}

/// [`relationship`] with a chosen type.
///
/// # Panics
///
/// When an argument is not valid syntax.
pub fn relationship_of_type(
    a: &str,
    b: &str,
    strength: u8,
    rkey: &str,
    kind: &str,
) -> RelationshipInput {
    RelationshipInput {
        uri: format!("at://{a}/{RELATIONSHIP}/{rkey}")
            .parse()
            .expect("valid AT-URI"),
        cid: cid(u64::from(strength)).parse().expect("valid CID"),
        participants: [a.parse().expect("valid DID"), b.parse().expect("valid DID")],
        relationship_type: kind.to_owned(),
        strength: Percent::new(strength).expect("strength 0-100"),
        discoverable: true,
        last_interaction: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid date"),
        signed: [true, true],
        strength_deviation: 0,
    }
}

/// An attestation by `attester` of `target`, with record key `rkey`.
///
/// # Panics
///
/// When an argument is not valid syntax.
pub fn attestation(
    attester: &str,
    target: &AtUri,
    kind: AttestationType,
    confidence: u8,
    created_at: DateTime<Utc>,
    rkey: &str,
) -> AttestationInput {
    AttestationInput {
        uri: format!("at://{attester}/{ATTESTATION}/{rkey}")
            .parse()
            .expect("valid AT-URI"),
        attester: attester.parse().expect("valid DID"),
        target: target.clone(),
        attestation_type: kind,
        confidence: Percent::new(confidence).expect("confidence 0-100"),
        created_at,
    }
}

/// A preferential-attachment graph: DID `i` (from 1) links to `min(i,
/// per_did)` distinct earlier DIDs chosen in proportion to their degree
/// (plus one), strengths uniform in `30..=100`, four types.
pub fn preferential_attachment(dids: u64, per_did: u64, seed: u64) -> Vec<RelationshipInput> {
    preferential_attachment_from(0, dids, per_did, seed)
}

/// [`preferential_attachment`] over the DIDs numbered `first..first + dids`
/// (record keys then repeat between calls, URIs do not): one community of
/// a larger synthetic graph.
pub fn preferential_attachment_from(
    first: u64,
    dids: u64,
    per_did: u64,
    seed: u64,
) -> Vec<RelationshipInput> {
    const TYPES: [&str; 4] = ["professional", "personal", "social", "family"];
    let mut rng = SplitMix64::new(seed);
    let names: Vec<String> = (first..first + dids).map(did).collect();
    // Every endpoint once per relationship, plus every DID once: drawing
    // from it picks a DID in proportion to its degree plus one.
    let mut endpoints: Vec<u64> =
        Vec::with_capacity(usize::try_from(dids * (2 * per_did + 1)).unwrap_or(0));
    let mut out = Vec::with_capacity(usize::try_from(dids * per_did).unwrap_or(0));
    let mut chosen = Vec::new();
    for i in 0..dids {
        endpoints.push(i);
        chosen.clear();
        while (chosen.len() as u64) < per_did.min(i) {
            let len = endpoints.len() as u64;
            let j = endpoints[usize::try_from(rng.below(len)).expect("index")];
            if j != i && !chosen.contains(&j) {
                chosen.push(j);
            }
        }
        for &j in &chosen {
            endpoints.extend([i, j]);
            let n = out.len() as u64;
            let strength = 30 + u8::try_from(rng.below(71)).expect("below 71");
            let kind = TYPES[usize::try_from(rng.below(4)).expect("below 4")];
            let mut rel = relationship_of_type(
                &names[usize::try_from(i).expect("index")],
                &names[usize::try_from(j).expect("index")],
                strength,
                &base32(n, 13),
                kind,
            );
            rel.cid = cid(n).parse().expect("valid CID");
            out.push(rel);
        }
    }
    out
}

/// p50, p90, p99, max and mean of `samples`, as one line for example
/// output.
pub fn latency_percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(u32::MAX);
    format!(
        "p50 {:?}  p90 {:?}  p99 {:?}  max {:?}  mean {mean:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}
