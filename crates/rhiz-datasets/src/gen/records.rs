//! The records of a generated dataset: what each one says, drawn from its
//! own random stream so that any record can be drawn again from its index.

use rhiz_protocol::{
    AtUri, Attestation, AttestationSummary, AttestationType, Consent, Datetime, Did, EntityProfile,
    EntityType, Percent, Privacy, RelationshipRecord, RelationshipType, Signature, StrengthPoint,
    TargetField, Temporal, Verification, VerifierSummary, Visibility,
};
use serde_json::Map;

use super::names;
use crate::hash::SplitMix64;
use crate::time::datetime_us;

/// Microseconds in a day.
pub(super) const DAY_US: i64 = 86_400_000_000;

/// Random streams: one per record and purpose, told apart by the low two bits.
const STREAM_RELATIONSHIP: u64 = 0;
const STREAM_ATTESTATIONS: u64 = 1;
const STREAM_PROFILE: u64 = 2;
const STREAM_SIGNATURES: u64 = 3;

/// The stream of record `index` of `kind`.
fn stream(seed: u64, kind: u64, index: u64) -> SplitMix64 {
    SplitMix64::new(seed, (index << 2) | kind)
}

/// The datetime of Unix microseconds `us` (millisecond precision).
pub(super) fn datetime(us: i64) -> Datetime {
    datetime_us(us)
}

/// A percent from a value already in 0..=100 (clamped otherwise).
fn percent(value: i64) -> Percent {
    Percent::new(value.clamp(0, 100) as u8).unwrap_or(Percent::MAX)
}

/// A Kumaraswamy(a, b) draw in [0, 1): skewed like a Beta law, with a
/// closed-form inverse.
fn kumaraswamy(rng: &mut SplitMix64, a: f64, b: f64) -> f64 {
    (1.0 - (1.0 - rng.unit()).powf(1.0 / b)).powf(1.0 / a)
}

/// Relationship types: (weight in ‰, strength shift, context template).
/// `{}` in the template is the author's community.
const TYPES: [(u32, i64, &str); 9] = [
    (280, 0, "Worked together at {}"),
    (190, 0, "Friends through {}"),
    (120, 3, "Close friends since school"),
    (80, 0, "Studied together at {}"),
    (80, -8, "Trade partners"),
    (70, 0, "Members of {}"),
    (60, 6, "Family"),
    (70, 0, "Co-authored research at {}"),
    (50, -4, "Volunteers with {}"),
];

/// The relationship type of entry `i` of [`TYPES`].
fn relationship_type(i: usize) -> RelationshipType {
    match i {
        0 => RelationshipType::Professional,
        1 => RelationshipType::Social,
        2 => RelationshipType::Personal,
        3 => RelationshipType::Educational,
        4 => RelationshipType::Transactional,
        5 => RelationshipType::Organizational,
        6 => RelationshipType::Family,
        7 => RelationshipType::Academic,
        _ => RelationshipType::Civic,
    }
}

/// Privacy settings and their shares in ‰: mostly public; 7% are not
/// discoverable by others (network, private, or anonymous consent).
const PRIVACY: [(u32, Visibility, Consent); 5] = [
    (880, Visibility::Public, Consent::Full),
    (50, Visibility::Public, Consent::Limited),
    (30, Visibility::Network, Consent::Full),
    (20, Visibility::Private, Consent::Full),
    (20, Visibility::Public, Consent::Anonymous),
];

/// Share of relationships signed and verified by both participants.
const SIGNED_SHARE: f64 = 0.08;

/// What an honest relationship says, drawn from its index alone.
#[derive(Debug, Clone)]
pub(super) struct RelationshipDraw {
    type_index: usize,
    /// `strength`.
    pub(super) strength: u8,
    privacy_index: usize,
    signed: bool,
    consensus: u8,
    confidence: u8,
    start_us: i64,
    last_us: i64,
    /// (time, strength) points, oldest first.
    history: Vec<(i64, u8)>,
}

impl RelationshipDraw {
    /// Relationship `index`, created at `created_us`, seen until `now_us`.
    pub(super) fn new(seed: u64, index: u64, created_us: i64, now_us: i64) -> Self {
        let mut rng = stream(seed, STREAM_RELATIONSHIP, index);
        let weights = TYPES.map(|t| t.0);
        let type_index = rng.pick_weighted(&weights);
        // Mostly 40–95, mode near 78, a few weak ties.
        let base = (kumaraswamy(&mut rng, 4.0, 2.0) * 100.0).round() as i64;
        let strength = (base + TYPES[type_index].1).clamp(1, 100) as u8;
        let privacy_index = rng.pick_weighted(&PRIVACY.map(|p| p.0));
        let signed = rng.chance(SIGNED_SHARE);
        let consensus = rng.between(70, 95) as u8;
        let confidence = rng.between(85, 100) as u8;
        // Relationships exist before they are recorded (up to 3 years).
        let known_for = (rng.unit().powi(2) * (3 * 365 * DAY_US) as f64) as i64;
        let start_us = (created_us - known_for).max(0);
        let last_us = created_us + (rng.unit() * (now_us - created_us) as f64) as i64;
        let mut history = Vec::new();
        if rng.chance(0.4) {
            let points = rng.between(1, 3) as i64;
            let drift = rng.between(0, 16) as i64 - 8;
            for k in 1..=points {
                let t = start_us + (last_us - start_us) * k / points;
                let s = i64::from(strength) - drift * (points - k);
                history.push((t, s.clamp(0, 100) as u8));
            }
        }
        Self {
            type_index,
            strength,
            privacy_index,
            signed,
            consensus,
            confidence,
            start_us,
            last_us,
            history,
        }
    }

    /// Whether third parties may attest the relationship.
    pub(super) fn allows_attestation(&self) -> bool {
        PRIVACY[self.privacy_index].2 != Consent::Anonymous
    }

    /// The record, between `participants` (author first), created at
    /// `created_us`; `community` names the author's community.
    pub(super) fn record(
        &self,
        seed: u64,
        index: u64,
        participants: [Did; 2],
        created_us: i64,
        community: &str,
    ) -> RelationshipRecord {
        let created = datetime(created_us);
        let (_, visibility, consent) = &PRIVACY[self.privacy_index];
        let verification = if self.signed {
            signed_verification(&participants, self.consensus, self.confidence, &created)
        } else {
            unverified(&created)
        };
        let signatures = self.signed.then(|| {
            let mut rng = stream(seed, STREAM_SIGNATURES, index);
            signatures(&mut rng, &participants)
        });
        let history = (!self.history.is_empty()).then(|| {
            self.history
                .iter()
                .map(|&(t, s)| StrengthPoint {
                    timestamp: datetime(t),
                    strength: percent(i64::from(s)),
                    event: None,
                    extra: Map::new(),
                })
                .collect()
        });
        RelationshipRecord {
            participants,
            relationship_type: relationship_type(self.type_index),
            strength: percent(i64::from(self.strength)),
            context: TYPES[self.type_index].2.replace("{}", community),
            verification,
            privacy: Privacy {
                visibility: visibility.clone(),
                consent: consent.clone(),
                allow_discovery: None,
                allow_attestation: None,
                extra: Map::new(),
            },
            temporal: Temporal {
                start: datetime(self.start_us),
                last_interaction: datetime(self.last_us),
                history,
                extra: Map::new(),
            },
            signatures,
            created_at: created,
            extra: Map::new(),
        }
    }
}

/// Verification shape A with no attestations yet: the self-reported state
/// of a new record.
pub(super) fn unverified(at: &Datetime) -> Verification {
    Verification::Attestations(AttestationSummary {
        consensus_score: percent(50),
        attestation_count: 0,
        verify_count: None,
        dispute_count: None,
        last_updated: at.clone(),
        trend: None,
        top_attester_reputation: None,
        extra: Map::new(),
    })
}

/// Verification shape B: both participants verified it.
pub(super) fn signed_verification(
    participants: &[Did; 2],
    consensus: u8,
    confidence: u8,
    at: &Datetime,
) -> Verification {
    Verification::Verifiers(VerifierSummary {
        consensus_score: percent(i64::from(consensus)),
        verifier_count: 2,
        confidence: percent(i64::from(confidence)),
        last_verified: at.clone(),
        verifiers: Some(participants.to_vec()),
        extra: Map::new(),
    })
}

/// One signature per participant: 64 random bytes in base64 (not a real
/// signature: rhiz does not verify them).
pub(super) fn signatures(rng: &mut SplitMix64, participants: &[Did; 2]) -> Vec<Signature> {
    participants
        .iter()
        .map(|did| {
            let bytes: Vec<u8> = (0..8).flat_map(|_| rng.next_u64().to_be_bytes()).collect();
            Signature {
                did: did.clone(),
                signature: base64(&bytes),
                extra: Map::new(),
            }
        })
        .collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The attestations a relationship receives, drawn from its index.
#[derive(Debug)]
pub(super) struct AttestationPlan {
    rng: SplitMix64,
    /// How many attestations (0 when none).
    pub(super) count: u32,
}

impl AttestationPlan {
    /// With probability `ratio`, 1 to 5 attestations (mean ≈ 1.8).
    pub(super) fn new(seed: u64, index: u64, ratio: f64) -> Self {
        let mut rng = stream(seed, STREAM_ATTESTATIONS, index);
        let mut count = 0;
        if rng.chance(ratio) {
            count = 1;
            while count < 5 && rng.chance(0.45) {
                count += 1;
            }
        }
        Self { rng, count }
    }

    /// The plan's random stream, for choosing attesters.
    pub(super) fn rng(&mut self) -> &mut SplitMix64 {
        &mut self.rng
    }

    /// One attestation of `target` (created at `created_us`, strength
    /// `strength`) by `attester`, at a time between creation and `now_us`.
    /// Returns the record and its time in microseconds.
    pub(super) fn attestation(
        &mut self,
        target: &AtUri,
        attester: Did,
        strength: u8,
        created_us: i64,
        now_us: i64,
    ) -> (Attestation, i64) {
        let rng = &mut self.rng;
        let at_us = created_us + (rng.unit().powi(2) * (now_us - 1 - created_us) as f64) as i64;
        let kind = match rng.below(100) {
            0..75 => AttestationType::Verify,
            75..85 => AttestationType::Strengthen,
            85..93 => AttestationType::Weaken,
            _ => AttestationType::Dispute,
        };
        let confidence = match kind {
            AttestationType::Verify => 60 + (kumaraswamy(rng, 2.5, 1.2) * 40.0).round() as i64,
            _ => rng.between(50, 100) as i64,
        };
        let s = i64::from(strength);
        let (suggested, fields) = match kind {
            AttestationType::Strengthen => (Some(s + rng.between(5, 20) as i64), true),
            AttestationType::Weaken => (Some(s - rng.between(5, 30) as i64), true),
            _ => (None, false),
        };
        let texts = match kind {
            AttestationType::Verify => names::EVIDENCE_VERIFY,
            AttestationType::Strengthen => names::EVIDENCE_STRENGTHEN,
            AttestationType::Weaken => names::EVIDENCE_WEAKEN,
            AttestationType::Dispute => names::EVIDENCE_DISPUTE,
        };
        let evidence = rng
            .chance(0.3)
            .then(|| texts[rng.below(texts.len() as u64) as usize].to_owned());
        let record = Attestation {
            target_relationship: target.clone(),
            attester,
            attestation_type: kind,
            confidence: percent(confidence),
            evidence,
            suggested_strength: suggested.map(percent),
            target_fields: fields.then(|| vec![TargetField::Strength]),
            created_at: datetime(at_us),
            stake: None,
            extra: Map::new(),
        };
        (record, at_us)
    }
}

/// A verify attestation with full confidence: what colluding Sybils write
/// about each other.
pub(super) fn collusion(target: &AtUri, attester: Did, at_us: i64) -> Attestation {
    Attestation {
        target_relationship: target.clone(),
        attester,
        attestation_type: AttestationType::Verify,
        confidence: Percent::MAX,
        evidence: Some(names::EVIDENCE_VERIFY[0].to_owned()),
        suggested_strength: None,
        target_fields: None,
        created_at: datetime(at_us),
        stake: None,
        extra: Map::new(),
    }
}

/// The profile of generated DID `index`, living in `community` (`None` for
/// Sybils, which pose as people with no bio), created in `window` (start
/// and length in microseconds).
pub(super) fn profile(
    seed: u64,
    index: u64,
    did: &Did,
    community: Option<&str>,
    window: (i64, i64),
) -> EntityProfile {
    let mut rng = stream(seed, STREAM_PROFILE, index);
    let created_us = window.0 + (rng.unit() * window.1 as f64) as i64;
    let pick =
        |rng: &mut SplitMix64, list: &[&'static str]| list[rng.below(list.len() as u64) as usize];
    let entity_type = match (community, rng.below(100)) {
        (Some(_), 90..97) => EntityType::Organization,
        (Some(_), 97..) => EntityType::Agent,
        _ => EntityType::Person,
    };
    let display_name = match (&entity_type, community) {
        (EntityType::Organization, Some(c)) => format!("{c} {}", pick(&mut rng, names::ORG_SUFFIX)),
        (EntityType::Agent, _) => format!("{}Bot {}", pick(&mut rng, names::FIRST), index),
        _ => format!(
            "{} {}",
            pick(&mut rng, names::FIRST),
            pick(&mut rng, names::LAST)
        ),
    };
    let bio = match community {
        Some(c) if rng.chance(0.4) => Some(format!("{} at {c}", pick(&mut rng, names::ROLES))),
        _ => None,
    };
    let avatar_url = (community.is_some() && rng.chance(0.3)).then(|| {
        format!(
            "https://avatars.rhiz.example/{}.png",
            did.method_specific_id()
        )
    });
    EntityProfile {
        display_name,
        entity_type,
        bio,
        avatar_url,
        verified: None,
        metadata: None,
        created_at: datetime(created_us),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input), expected);
        }
    }

    #[test]
    fn strengths_are_mostly_between_40_and_95() {
        let now = 1_700_000_000_000_000;
        let strengths: Vec<u8> = (0..10_000)
            .map(|i| RelationshipDraw::new(3, i, now - DAY_US, now).strength)
            .collect();
        let inside = strengths.iter().filter(|s| (40..=95).contains(*s)).count();
        assert!(inside > 8_500, "{inside} of 10000 in 40..=95");
        assert!(strengths.iter().all(|s| (1..=100).contains(s)));
    }

    #[test]
    fn type_and_privacy_shares_sum_to_one_thousand() {
        assert_eq!(TYPES.iter().map(|t| t.0).sum::<u32>(), 1000);
        assert_eq!(PRIVACY.iter().map(|p| p.0).sum::<u32>(), 1000);
    }
}
