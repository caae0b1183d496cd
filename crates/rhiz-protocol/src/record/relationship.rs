//! `net.rhiz.relationship.record`: a relationship between two DIDs.

use serde::Serializer;
use serde_json::{Map, Value};

use super::validate::{
    array, closed_enum, formatted, open_enum, serde_via_json, serialize_via_write_json, Json,
    JsonWriter, Object, Path,
};
use super::{Percent, RecordError, RecordErrorKind};
use crate::{Datetime, Did};

open_enum!(
    /// The kind of a relationship (`knownValues`, so open). Both the
    /// lexicon's and the specification's values are known.
    RelationshipType {
        /// `professional`
        Professional => "professional",
        /// `personal`
        Personal => "personal",
        /// `family`
        Family => "family",
        /// `social`
        Social => "social",
        /// `civic`
        Civic => "civic",
        /// `educational`
        Educational => "educational",
        /// `academic` (specification)
        Academic => "academic",
        /// `transactional` (specification)
        Transactional => "transactional",
        /// `organizational` (specification)
        Organizational => "organizational",
    }
);

open_enum!(
    /// Who may see a relationship (`knownValues`, so open).
    Visibility {
        /// `public`: everyone.
        Public => "public",
        /// `network`: the participants' network.
        Network => "network",
        /// `private`: the participants only.
        Private => "private",
        /// `connections`: the specification's name for `network`.
        Connections => "connections",
    }
);

impl Visibility {
    /// Whether this is `public`.
    pub fn is_public(&self) -> bool {
        matches!(self, Self::Public)
    }

    /// Whether this is `network` or its synonym `connections`.
    pub fn is_network(&self) -> bool {
        matches!(self, Self::Network | Self::Connections)
    }
}

open_enum!(
    /// How the participants consent to the relationship's use (`knownValues`, so open).
    Consent {
        /// `full`
        Full => "full",
        /// `limited`
        Limited => "limited",
        /// `anonymous`: neither discovery nor attestation is allowed.
        Anonymous => "anonymous",
    }
);

closed_enum!(
    /// The self-reported consensus trend of verification shape A (closed enum).
    Trend {
        /// `increasing`
        Increasing => "increasing",
        /// `stable`
        Stable => "stable",
        /// `decreasing`
        Decreasing => "decreasing",
    }
);

/// The `verification` object of a relationship, in either shape in
/// circulation (CONTRACT §6.2, §7 #15). Its values are self-reported: rhiz's
/// own conviction supersedes them.
///
/// Parsing tries shape A first, so an object valid in both shapes is shape A,
/// with the shape-B keys kept as unknown keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    /// Shape A, the lexicon JSON's.
    Attestations(AttestationSummary),
    /// Shape B, the generated TypeScript lexicon's and `RhizRepoWriter`'s.
    Verifiers(VerifierSummary),
}

impl Verification {
    /// `consensusScore`, present in both shapes.
    pub fn consensus_score(&self) -> Percent {
        match self {
            Self::Attestations(a) => a.consensus_score,
            Self::Verifiers(b) => b.consensus_score,
        }
    }

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        const A_ONLY: &[&str] = &[
            "attestationCount",
            "lastUpdated",
            "verifyCount",
            "disputeCount",
            "trend",
            "topAttesterReputation",
        ];
        const B_ONLY: &[&str] = &["verifierCount", "confidence", "lastVerified", "verifiers"];
        let o = Object::new(value, path)?;
        let a = match AttestationSummary::from_object(&o) {
            Ok(a) => return Ok(Self::Attestations(a)),
            Err(e) => e,
        };
        let b = match VerifierSummary::from_object(&o) {
            Ok(b) => return Ok(Self::Verifiers(b)),
            Err(e) => e,
        };
        // Report the error of the shape the object resembles more.
        let score = |keys: &[&str]| keys.iter().filter(|k| o.has(k)).count();
        let (score_a, score_b) = (score(A_ONLY), score(B_ONLY));
        Err(if score_a > score_b {
            a
        } else if score_b > score_a {
            b
        } else {
            RecordError::new(path.to_string(), RecordErrorKind::NoVerificationShape)
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Attestations(a) => a.write_json(serializer),
            Self::Verifiers(b) => b.write_json(serializer),
        }
    }
}

/// Verification shape A: counts of attestations.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationSummary {
    /// `consensusScore`.
    pub consensus_score: Percent,
    /// `attestationCount`.
    pub attestation_count: u32,
    /// `verifyCount`.
    pub verify_count: Option<u32>,
    /// `disputeCount`.
    pub dispute_count: Option<u32>,
    /// `lastUpdated`.
    pub last_updated: Datetime,
    /// `trend`.
    pub trend: Option<Trend>,
    /// `topAttesterReputation`.
    pub top_attester_reputation: Option<Percent>,
    /// Keys shape A does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl AttestationSummary {
    const KNOWN: &'static [&'static str] = &[
        "consensusScore",
        "attestationCount",
        "verifyCount",
        "disputeCount",
        "lastUpdated",
        "trend",
        "topAttesterReputation",
    ];

    fn from_object(o: &Object<'_, '_>) -> Result<Self, RecordError> {
        Ok(Self {
            consensus_score: o.percent("consensusScore")?,
            attestation_count: o.count("attestationCount")?,
            verify_count: o.opt_count("verifyCount")?,
            dispute_count: o.opt_count("disputeCount")?,
            last_updated: o.formatted("lastUpdated", "datetime")?,
            trend: o.opt_closed("trend")?,
            top_attester_reputation: o.opt_percent("topAttesterReputation")?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("consensusScore", self.consensus_score)?
            .put("attestationCount", self.attestation_count)?
            .put_opt("verifyCount", self.verify_count)?
            .put_opt("disputeCount", self.dispute_count)?
            .put("lastUpdated", self.last_updated.as_str())?
            .put_opt("trend", self.trend.map(Trend::as_str))?
            .put_opt("topAttesterReputation", self.top_attester_reputation)?
            .finish(&self.extra)
    }
}

/// Verification shape B: a count (and optionally the list) of verifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierSummary {
    /// `consensusScore`.
    pub consensus_score: Percent,
    /// `verifierCount`.
    pub verifier_count: u32,
    /// `confidence`.
    pub confidence: Percent,
    /// `lastVerified`.
    pub last_verified: Datetime,
    /// `verifiers`.
    pub verifiers: Option<Vec<Did>>,
    /// Keys shape B does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl VerifierSummary {
    const KNOWN: &'static [&'static str] = &[
        "consensusScore",
        "verifierCount",
        "confidence",
        "lastVerified",
        "verifiers",
    ];

    fn from_object(o: &Object<'_, '_>) -> Result<Self, RecordError> {
        Ok(Self {
            consensus_score: o.percent("consensusScore")?,
            verifier_count: o.count("verifierCount")?,
            confidence: o.percent("confidence")?,
            last_verified: o.formatted("lastVerified", "datetime")?,
            verifiers: o.opt_field("verifiers", |v, p| {
                array(v, p, 0, None, |v, p| formatted(v, p, "did"))
            })?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("consensusScore", self.consensus_score)?
            .put("verifierCount", self.verifier_count)?
            .put("confidence", self.confidence)?
            .put("lastVerified", self.last_verified.as_str())?
            .put_opt("verifiers", self.verifiers.as_deref())?
            .finish(&self.extra)
    }
}

/// The `privacy` object of a relationship.
///
/// The lexicon's `consent` and the specification's booleans
/// `allowDiscovery`/`allowAttestation` both control it; the booleans win when
/// present (CONTRACT §6.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Privacy {
    /// `visibility`.
    pub visibility: Visibility,
    /// `consent`.
    pub consent: Consent,
    /// `allowDiscovery` (specification).
    pub allow_discovery: Option<bool>,
    /// `allowAttestation` (specification).
    pub allow_attestation: Option<bool>,
    /// Keys neither the lexicon nor the specification defines, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Privacy {
    const KNOWN: &'static [&'static str] = &[
        "visibility",
        "consent",
        "allowDiscovery",
        "allowAttestation",
    ];

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, path)?;
        Ok(Self {
            visibility: Visibility::from(o.string("visibility", None)?),
            consent: Consent::from(o.string("consent", None)?),
            allow_discovery: o.opt_bool("allowDiscovery")?,
            allow_attestation: o.opt_bool("allowAttestation")?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("visibility", self.visibility.as_str())?
            .put("consent", self.consent.as_str())?
            .put_opt("allowDiscovery", self.allow_discovery)?
            .put_opt("allowAttestation", self.allow_attestation)?
            .finish(&self.extra)
    }

    /// Whether others may discover the relationship: `allowDiscovery` when
    /// present, else `consent` is not `anonymous`.
    pub fn allow_discovery(&self) -> bool {
        self.allow_discovery
            .unwrap_or(self.consent != Consent::Anonymous)
    }

    /// Whether third parties may attest the relationship: `allowAttestation`
    /// when present, else `consent` is not `anonymous`.
    pub fn allow_attestation(&self) -> bool {
        self.allow_attestation
            .unwrap_or(self.consent != Consent::Anonymous)
    }

    /// Whether other parties may find the relationship: visibility `public`
    /// and discovery allowed.
    pub fn is_discoverable(&self) -> bool {
        self.visibility.is_public() && self.allow_discovery()
    }
}

/// One point of a relationship's strength history.
#[derive(Debug, Clone, PartialEq)]
pub struct StrengthPoint {
    /// `timestamp`.
    pub timestamp: Datetime,
    /// `strength`.
    pub strength: Percent,
    /// `event`: what changed, at most 500 bytes.
    pub event: Option<String>,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl StrengthPoint {
    const KNOWN: &'static [&'static str] = &["timestamp", "strength", "event"];

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, path)?;
        Ok(Self {
            timestamp: o.formatted("timestamp", "datetime")?,
            strength: o.percent("strength")?,
            event: o.opt_string("event", Some(RelationshipRecord::CONTEXT_MAX_BYTES))?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("timestamp", self.timestamp.as_str())?
            .put("strength", self.strength)?
            .put_opt("event", self.event.as_deref())?
            .finish(&self.extra)
    }
}

/// The `temporal` object of a relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct Temporal {
    /// `start`.
    pub start: Datetime,
    /// `lastInteraction`.
    pub last_interaction: Datetime,
    /// `history`.
    pub history: Option<Vec<StrengthPoint>>,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Temporal {
    const KNOWN: &'static [&'static str] = &["start", "lastInteraction", "history"];

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, path)?;
        Ok(Self {
            start: o.formatted("start", "datetime")?,
            last_interaction: o.formatted("lastInteraction", "datetime")?,
            history: o.opt_field("history", |v, p| {
                array(v, p, 0, None, StrengthPoint::from_json)
            })?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("start", self.start.as_str())?
            .put("lastInteraction", self.last_interaction.as_str())?
            .put_opt("history", self.history.as_deref())?
            .finish(&self.extra)
    }
}

/// A participant's signature over the relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// `did`: the signer.
    pub did: Did,
    /// `signature`, base64 (not decoded or verified here).
    pub signature: String,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Signature {
    const KNOWN: &'static [&'static str] = &["did", "signature"];

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, path)?;
        Ok(Self {
            did: o.formatted("did", "did")?,
            signature: o.string("signature", None)?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("did", self.did.as_str())?
            .put("signature", self.signature.as_str())?
            .finish(&self.extra)
    }
}

/// A `net.rhiz.relationship.record` record (record key: a TID).
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipRecord {
    /// `participants`: exactly two distinct DIDs.
    pub participants: [Did; 2],
    /// `type`.
    pub relationship_type: RelationshipType,
    /// `strength`.
    pub strength: Percent,
    /// `context`, at most 500 bytes.
    pub context: String,
    /// `verification`, self-reported.
    pub verification: Verification,
    /// `privacy`.
    pub privacy: Privacy,
    /// `temporal`.
    pub temporal: Temporal,
    /// `signatures`.
    pub signatures: Option<Vec<Signature>>,
    /// `createdAt`.
    pub created_at: Datetime,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

const KNOWN: &[&str] = &[
    "$type",
    "participants",
    "type",
    "strength",
    "context",
    "verification",
    "privacy",
    "temporal",
    "signatures",
    "createdAt",
];

impl RelationshipRecord {
    /// The collection NSID.
    pub const NSID: &'static str = "net.rhiz.relationship.record";
    /// Most bytes of `context` (and of a history point's `event`).
    pub const CONTEXT_MAX_BYTES: usize = 500;

    /// Validates a relationship record against its lexicon; `verification`
    /// may be in shape A or shape B.
    ///
    /// ```
    /// use rhiz_protocol::{RelationshipRecord, RelationshipType, Verification};
    /// use serde_json::json;
    ///
    /// let record = json!({
    ///     "participants": ["did:plc:aliceaaaaaaaaaaaaaaaaaaa", "did:plc:bobbbbbbbbbbbbbbbbbbbbbb"],
    ///     "type": "professional",
    ///     "strength": 85,
    ///     "context": "Worked together on the Rhiz indexer",
    ///     "verification": {"consensusScore": 80, "verifierCount": 3, "confidence": 90,
    ///                      "lastVerified": "2024-09-01T12:00:00Z"},
    ///     "privacy": {"visibility": "public", "consent": "full"},
    ///     "temporal": {"start": "2023-01-01T00:00:00Z", "lastInteraction": "2024-09-01T12:00:00Z"},
    ///     "createdAt": "2024-09-01T12:00:00Z"
    /// });
    /// let r = RelationshipRecord::from_json(&record).unwrap();
    /// assert_eq!(r.relationship_type, RelationshipType::Professional);
    /// assert_eq!(r.strength.get(), 85);
    /// assert!(matches!(r.verification, Verification::Verifiers(_)));
    /// assert!(r.is_discoverable());
    ///
    /// let mut bad = record.clone();
    /// bad["strength"] = json!(101);
    /// let err = RelationshipRecord::from_json(&bad).unwrap_err();
    /// assert_eq!(err.to_string(), "strength: must be an integer from 0 to 100");
    /// ```
    pub fn from_json_ref(value: &Json<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, &Path::Root)?;
        o.record_type(Self::NSID)?;
        Ok(Self {
            participants: o.field("participants", participants)?,
            relationship_type: RelationshipType::from(o.string("type", None)?),
            strength: o.percent("strength")?,
            context: o.string("context", Some(Self::CONTEXT_MAX_BYTES))?,
            verification: o.field("verification", Verification::from_json)?,
            privacy: o.field("privacy", Privacy::from_json)?,
            temporal: o.field("temporal", Temporal::from_json)?,
            signatures: o.opt_field("signatures", |v, p| {
                array(v, p, 0, None, Signature::from_json)
            })?,
            created_at: o.formatted("createdAt", "datetime")?,
            extra: o.extra(KNOWN),
        })
    }

    /// The lexicon JSON, with `$type` and the preserved unknown keys.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a record serializes to JSON")
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, Some(Self::NSID), KNOWN)?
            .put("participants", &self.participants)?
            .put("type", self.relationship_type.as_str())?
            .put("strength", self.strength)?
            .put("context", self.context.as_str())?
            .put("verification", &self.verification)?
            .put("privacy", &self.privacy)?
            .put("temporal", &self.temporal)?
            .put_opt("signatures", self.signatures.as_deref())?
            .put("createdAt", self.created_at.as_str())?
            .finish(&self.extra)
    }

    /// Whether `did` is one of the two participants.
    pub fn has_participant(&self, did: &Did) -> bool {
        self.participants.contains(did)
    }

    /// See [`Privacy::allow_discovery`].
    pub fn allow_discovery(&self) -> bool {
        self.privacy.allow_discovery()
    }

    /// See [`Privacy::allow_attestation`].
    pub fn allow_attestation(&self) -> bool {
        self.privacy.allow_attestation()
    }

    /// See [`Privacy::is_discoverable`].
    pub fn is_discoverable(&self) -> bool {
        self.privacy.is_discoverable()
    }

    /// Whether `participants[i]` signed the record (has an entry in
    /// `signatures`).
    pub fn signed(&self) -> [bool; 2] {
        self.participants.each_ref().map(|did| {
            self.signatures
                .iter()
                .flatten()
                .any(|signature| signature.did == *did)
        })
    }

    /// How much the strength moved over time: the population standard
    /// deviation of the strengths of `temporal.history` together with the
    /// current strength, rounded (0–50; 0 without history).
    pub fn strength_deviation(&self) -> u8 {
        let values: Vec<f64> = std::iter::once(self.strength)
            .chain(self.temporal.history.iter().flatten().map(|p| p.strength))
            .map(|p| f64::from(p.get()))
            .collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        // Values in 0–100 have a deviation of at most 50.
        variance.sqrt().round().clamp(0.0, 50.0) as u8
    }
}

serde_via_json!(RelationshipRecord);
serialize_via_write_json!(
    Verification,
    AttestationSummary,
    VerifierSummary,
    Privacy,
    StrengthPoint,
    Temporal,
    Signature,
);

fn participants(value: &Json<'_>, path: &Path<'_>) -> Result<[Did; 2], RecordError> {
    let dids = array(value, path, 2, Some(2), |v, p| {
        formatted::<Did>(v, p, "did")
    })?;
    let [a, b]: [Did; 2] = dids.try_into().map_err(|v: Vec<Did>| {
        RecordError::new(
            path.to_string(),
            RecordErrorKind::ItemCount {
                min: 2,
                max: Some(2),
                actual: v.len(),
            },
        )
    })?;
    if a == b {
        return Err(RecordError::new(
            Path::Item(path, 1).to_string(),
            RecordErrorKind::Duplicate { first: 0 },
        ));
    }
    Ok([a, b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{
        expect_err, relationship_json_a, relationship_json_b, with, with_path, without,
        without_path,
    };
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(v: &Value) -> Result<RelationshipRecord, RecordError> {
        RelationshipRecord::from_json(v)
    }

    #[test]
    fn valid_relationships() {
        let cases = [
            relationship_json_a(),
            relationship_json_b(),
            without(relationship_json_a(), &["signatures", "$type"]),
            without_path(relationship_json_a(), &["temporal", "history"]),
            with_path(relationship_json_a(), &["temporal", "history"], json!([])),
            with(relationship_json_a(), "strength", json!(0)),
            with(relationship_json_a(), "strength", json!(100)),
            with(relationship_json_a(), "context", json!("")),
            with(relationship_json_a(), "type", json!("academic")),
            with_path(
                relationship_json_a(),
                &["privacy", "visibility"],
                json!("connections"),
            ),
            without_path(relationship_json_a(), &["verification", "trend"]),
            without_path(relationship_json_b(), &["verification", "verifiers"]),
        ];
        for case in cases {
            let r = parse(&case).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(parse(&r.to_json()), Ok(r));
        }
    }

    #[test]
    fn verification_shapes() {
        let a = parse(&relationship_json_a()).unwrap();
        let Verification::Attestations(s) = &a.verification else {
            panic!("shape A expected, got {:?}", a.verification)
        };
        assert_eq!(
            (s.attestation_count, s.verify_count, s.trend),
            (4, Some(3), Some(Trend::Increasing))
        );
        let b = parse(&relationship_json_b()).unwrap();
        let Verification::Verifiers(s) = &b.verification else {
            panic!("shape B expected, got {:?}", b.verification)
        };
        assert_eq!((s.verifier_count, s.confidence.get()), (2, 90));
        assert_eq!(s.verifiers.as_ref().map(Vec::len), Some(2));
        assert_eq!(b.verification.consensus_score().get(), 75);
        // The shape is kept on the way out.
        assert_eq!(
            b.to_json()["verification"],
            relationship_json_b()["verification"]
        );
    }

    #[test]
    fn invalid_relationships() {
        let cases: &[(Value, &str)] = &[
            (json!("x"), "record: must be an object"),
            (
                without(relationship_json_a(), &["participants"]),
                "participants: is required",
            ),
            (
                without(relationship_json_a(), &["context"]),
                "context: is required",
            ),
            (
                without(relationship_json_a(), &["verification"]),
                "verification: is required",
            ),
            (
                without(relationship_json_a(), &["privacy"]),
                "privacy: is required",
            ),
            (
                without(relationship_json_a(), &["temporal"]),
                "temporal: is required",
            ),
            (
                without(relationship_json_a(), &["createdAt"]),
                "createdAt: is required",
            ),
            (
                without_path(relationship_json_a(), &["privacy", "consent"]),
                "privacy.consent: is required",
            ),
            (
                without_path(relationship_json_a(), &["temporal", "start"]),
                "temporal.start: is required",
            ),
            (
                with(relationship_json_a(), "strength", json!(101)),
                "strength: must be an integer from 0 to 100",
            ),
            (
                with(relationship_json_a(), "strength", json!(50.5)),
                "strength: must be an integer from 0 to 100",
            ),
            (
                with(relationship_json_a(), "participants", json!("did:plc:a")),
                "participants: must be an array",
            ),
            (
                with(relationship_json_a(), "privacy", json!([])),
                "privacy: must be an object",
            ),
            (
                with(
                    relationship_json_a(),
                    "signatures",
                    json!([{"did": "did:plc:aliceaaaaaaaaaaaaaaaaaaa"}]),
                ),
                "signatures[0].signature: is required",
            ),
            (
                with_path(relationship_json_a(), &["temporal", "history"], json!({})),
                "temporal.history: must be an array",
            ),
            (
                with_path(
                    relationship_json_a(),
                    &["privacy", "allowDiscovery"],
                    json!("no"),
                ),
                "privacy.allowDiscovery: must be a boolean",
            ),
            (
                with_path(
                    relationship_json_a(),
                    &["verification", "trend"],
                    json!("sideways"),
                ),
                "verification.trend: must be one of increasing, stable, decreasing",
            ),
            (
                with_path(
                    relationship_json_b(),
                    &["verification", "verifiers"],
                    json!(["nope"]),
                ),
                "verification.verifiers[0]: must be a valid did",
            ),
            (
                json!({"$type": "net.rhiz.relationship.attestation"}),
                "$type: must be \"net.rhiz.relationship.record\"",
            ),
        ];
        for (case, msg) in cases {
            expect_err(parse(case), msg);
        }
    }

    #[test]
    fn missing_required_field() {
        expect_err(
            parse(&without(relationship_json_a(), &["strength"])),
            "strength: is required",
        );
        expect_err(
            parse(&without(relationship_json_a(), &["type"])),
            "type: is required",
        );
        expect_err(
            parse(&without_path(
                relationship_json_a(),
                &["temporal", "lastInteraction"],
            )),
            "temporal.lastInteraction: is required",
        );
    }

    #[test]
    fn wrong_json_type() {
        expect_err(
            parse(&with(relationship_json_a(), "strength", json!("85"))),
            "strength: must be an integer from 0 to 100",
        );
        expect_err(
            parse(&with(relationship_json_a(), "type", json!(1))),
            "type: must be a string",
        );
        expect_err(
            parse(&with(relationship_json_a(), "context", json!(["a"]))),
            "context: must be a string",
        );
    }

    #[test]
    fn integer_out_of_range_names_nested_path() {
        let mut v = relationship_json_a();
        v["temporal"]["history"] = json!([
            {"timestamp": "2024-01-01T00:00:00Z", "strength": 10},
            {"timestamp": "2024-02-01T00:00:00Z", "strength": 20},
            {"timestamp": "2024-03-01T00:00:00Z", "strength": 101}
        ]);
        expect_err(
            parse(&v),
            "temporal.history[2].strength: must be an integer from 0 to 100",
        );
        expect_err(
            parse(&with_path(
                relationship_json_a(),
                &["verification", "consensusScore"],
                json!(-1),
            )),
            "verification.consensusScore: must be an integer from 0 to 100",
        );
        expect_err(
            parse(&with_path(
                relationship_json_a(),
                &["verification", "attestationCount"],
                json!(-3),
            )),
            "verification.attestationCount: must be an integer from 0 to 4294967295",
        );
        expect_err(
            parse(&with_path(
                relationship_json_b(),
                &["verification", "confidence"],
                json!(250),
            )),
            "verification.confidence: must be an integer from 0 to 100",
        );
    }

    #[test]
    fn unknown_closed_enum_value_is_rejected() {
        let e = expect_err(
            parse(&with_path(
                relationship_json_a(),
                &["verification", "trend"],
                json!("Increasing"),
            )),
            "verification.trend: must be one of",
        );
        assert_eq!(
            e.kind(),
            &RecordErrorKind::NotAllowed {
                allowed: Trend::ALLOWED
            }
        );
    }

    #[test]
    fn unknown_known_values_are_accepted() {
        let mut v = with(relationship_json_a(), "type", json!("neighbourly"));
        v["privacy"] = json!({"visibility": "friends-only", "consent": "case-by-case"});
        let r = parse(&v).unwrap();
        assert_eq!(
            r.relationship_type,
            RelationshipType::Other("neighbourly".into())
        );
        assert_eq!(
            r.privacy.visibility,
            Visibility::Other("friends-only".into())
        );
        assert_eq!(r.privacy.consent, Consent::Other("case-by-case".into()));
        assert_eq!(r.to_json()["type"], json!("neighbourly"));
        for t in RelationshipType::KNOWN {
            assert!(parse(&with(relationship_json_a(), "type", json!(t)))
                .unwrap()
                .relationship_type
                .is_known());
        }
    }

    #[test]
    fn max_length_counts_utf8_bytes() {
        // 250 two-byte characters: 500 bytes, accepted; one more ASCII byte is too many.
        let ok = "ü".repeat(250);
        assert!(parse(&with(relationship_json_a(), "context", json!(ok))).is_ok());
        let too_long = format!("{ok}x");
        expect_err(
            parse(&with(relationship_json_a(), "context", json!(too_long))),
            "context: must be at most 500 bytes of UTF-8 (got 501)",
        );
        let mut v = relationship_json_a();
        v["temporal"]["history"][0]["event"] = json!("🌱".repeat(126)); // 504 bytes, 126 chars
        expect_err(
            parse(&v),
            "temporal.history[0].event: must be at most 500 bytes of UTF-8 (got 504)",
        );
    }

    #[test]
    fn bad_formats() {
        expect_err(
            parse(&with(
                relationship_json_a(),
                "participants",
                json!(["did:plc:aliceaaaaaaaaaaaaaaaaaaa", "bob"]),
            )),
            "participants[1]: must be a valid did",
        );
        expect_err(
            parse(&with(
                relationship_json_a(),
                "createdAt",
                json!("2024-13-01T00:00:00Z"),
            )),
            "createdAt: must be a valid datetime",
        );
        expect_err(
            parse(&with_path(
                relationship_json_a(),
                &["temporal", "start"],
                json!("last year"),
            )),
            "temporal.start: must be a valid datetime",
        );
        expect_err(
            parse(&with_path(
                relationship_json_b(),
                &["verification", "lastVerified"],
                json!("2024-09-01 12:00"),
            )),
            "verification.lastVerified: must be a valid datetime",
        );
        expect_err(
            parse(&with(
                relationship_json_a(),
                "signatures",
                json!([{"did": "alice", "signature": "AAAA"}]),
            )),
            "signatures[0].did: must be a valid did",
        );
    }

    #[test]
    fn participants_must_be_exactly_two() {
        let alice = "did:plc:aliceaaaaaaaaaaaaaaaaaaa";
        let bob = "did:plc:bobbbbbbbbbbbbbbbbbbbbbb";
        let carol = "did:plc:carolccccccccccccccccccc";
        expect_err(
            parse(&with(relationship_json_a(), "participants", json!([alice]))),
            "participants: must have exactly 2 items (got 1)",
        );
        expect_err(
            parse(&with(relationship_json_a(), "participants", json!([]))),
            "participants: must have exactly 2 items (got 0)",
        );
        expect_err(
            parse(&with(
                relationship_json_a(),
                "participants",
                json!([alice, bob, carol]),
            )),
            "participants: must have exactly 2 items (got 3)",
        );
    }

    #[test]
    fn duplicate_participants_are_rejected() {
        let alice = "did:plc:aliceaaaaaaaaaaaaaaaaaaa";
        let e = expect_err(
            parse(&with(
                relationship_json_a(),
                "participants",
                json!([alice, alice]),
            )),
            "participants[1]: must differ from item 0",
        );
        assert_eq!(e.kind(), &RecordErrorKind::Duplicate { first: 0 });
    }

    #[test]
    fn wrong_record_type() {
        expect_err(
            parse(&with(
                relationship_json_a(),
                "$type",
                json!("net.rhiz.entity.profile"),
            )),
            "$type: must be \"net.rhiz.relationship.record\" when present",
        );
    }

    #[test]
    fn verification_matching_neither_shape() {
        expect_err(
            parse(&with(
                relationship_json_a(),
                "verification",
                json!({"consensusScore": 50}),
            )),
            "verification: must have either consensusScore, attestationCount and lastUpdated, or",
        );
        // Closer to shape B: B's error is reported.
        expect_err(
            parse(&with(
                relationship_json_a(),
                "verification",
                json!({"consensusScore": 50, "verifierCount": 2, "lastVerified": "2024-09-01T12:00:00Z"}),
            )),
            "verification.confidence: is required",
        );
        // Closer to shape A: A's error is reported.
        expect_err(
            parse(&without_path(
                relationship_json_a(),
                &["verification", "lastUpdated"],
            )),
            "verification.lastUpdated: is required",
        );
        expect_err(
            parse(&with(relationship_json_a(), "verification", json!(7))),
            "verification: must be an object",
        );
    }

    #[test]
    fn unknown_fields_are_preserved_at_every_level() {
        let mut v = with(relationship_json_a(), "mood", json!("sunny"));
        v["verification"]["$type"] = json!("net.rhiz.relationship.defs#verification");
        v["privacy"]["retention"] = json!({"days": 30});
        v["temporal"]["history"][0]["source"] = json!("manual");
        v["temporal"]["cadence"] = json!("weekly");
        v["signatures"][0]["alg"] = json!("ES256K");
        let r = parse(&v).unwrap();
        assert_eq!(r.extra.get("mood"), Some(&json!("sunny")));
        assert_eq!(r.privacy.extra.get("retention"), Some(&json!({"days": 30})));
        assert_eq!(r.to_json(), v);
    }

    #[test]
    fn privacy_helpers_follow_contract() {
        let privacy = |p: Value| parse(&with(relationship_json_a(), "privacy", p)).unwrap();
        let r = privacy(json!({"visibility": "public", "consent": "full"}));
        assert!(r.allow_discovery() && r.allow_attestation() && r.is_discoverable());
        let r = privacy(json!({"visibility": "public", "consent": "limited"}));
        assert!(r.allow_discovery() && r.allow_attestation() && r.is_discoverable());
        let r = privacy(json!({"visibility": "public", "consent": "anonymous"}));
        assert!(!r.allow_discovery() && !r.allow_attestation() && !r.is_discoverable());
        // The specification's booleans win over consent.
        let r = privacy(
            json!({"visibility": "public", "consent": "anonymous", "allowDiscovery": true}),
        );
        assert!(r.allow_discovery() && !r.allow_attestation() && r.is_discoverable());
        let r =
            privacy(json!({"visibility": "public", "consent": "full", "allowAttestation": false}));
        assert!(r.allow_discovery() && !r.allow_attestation());
        // Only public visibility is discoverable; connections is network.
        let r = privacy(json!({"visibility": "connections", "consent": "full"}));
        assert!(!r.is_discoverable() && r.privacy.visibility.is_network());
        let r = privacy(json!({"visibility": "private", "consent": "full"}));
        assert!(!r.is_discoverable());
    }

    proptest! {
        #[test]
        fn json_round_trip(r in crate::record::test_support::arb_relationship()) {
            prop_assert_eq!(parse(&r.to_json()), Ok(r.clone()));
            let text = serde_json::to_string(&r).unwrap();
            prop_assert_eq!(serde_json::from_str::<RelationshipRecord>(&text).unwrap(), r);
        }
    }
}
