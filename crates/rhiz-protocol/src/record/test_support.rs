//! Fixtures, JSON editing helpers and proptest strategies shared by the record tests.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    Attestation, AttestationSummary, AttestationType, Consent, EntityProfile, EntityType, Percent,
    Privacy, RecordError, RelationshipRecord, RelationshipType, Signature, Stake, StrengthPoint,
    TargetField, Temporal, Trend, Verification, VerifierSummary, Visibility,
};
use crate::{AtUri, Datetime, Did};

pub(crate) const ALICE: &str = "did:plc:aliceaaaaaaaaaaaaaaaaaaa";
pub(crate) const BOB: &str = "did:plc:bobbbbbbbbbbbbbbbbbbbbbb";
pub(crate) const CAROL: &str = "did:plc:carolccccccccccccccccccc";

const DIDS: &[&str] = &[
    ALICE,
    BOB,
    CAROL,
    "did:plc:eygmaihciaxprqvxpfvl6flk",
    "did:plc:wa7b35aakoll7hugkrjtf3xf",
    "did:web:example.com",
];

const DATETIMES: &[&str] = &[
    "2024-09-09T19:46:02.102Z",
    "2023-01-01T00:00:00Z",
    "2025-10-20T12:00:00.123+02:00",
    "1985-04-12T23:20:50.52Z",
];

const REL_URIS: &[&str] = &[
    "at://did:plc:wa7b35aakoll7hugkrjtf3xf/net.rhiz.relationship.record/3l3pte3p2e325",
    "at://did:plc:aliceaaaaaaaaaaaaaaaaaaa/net.rhiz.relationship.record/3l3qo2vuowo2b",
];

/// A valid profile record with every field.
pub(crate) fn profile_json() -> Value {
    json!({
        "$type": "net.rhiz.entity.profile",
        "displayName": "Ada Lovelace",
        "entityType": "person",
        "bio": "Analyst of engines. Écrivaine.",
        "avatarUrl": "https://cdn.example.com/ada.png",
        "verified": false,
        "metadata": {"website": "https://ada.example", "tags": ["math"]},
        "createdAt": "2024-09-09T19:46:02.102Z"
    })
}

/// A valid relationship record with verification shape A and every field.
pub(crate) fn relationship_json_a() -> Value {
    json!({
        "$type": "net.rhiz.relationship.record",
        "participants": [ALICE, BOB],
        "type": "professional",
        "strength": 85,
        "context": "Co-maintainers of the Rhiz indexer",
        "verification": {
            "consensusScore": 80,
            "attestationCount": 4,
            "verifyCount": 3,
            "disputeCount": 1,
            "lastUpdated": "2024-09-01T12:00:00Z",
            "trend": "increasing",
            "topAttesterReputation": 92
        },
        "privacy": {"visibility": "public", "consent": "full"},
        "temporal": {
            "start": "2022-03-01T00:00:00Z",
            "lastInteraction": "2024-09-01T12:00:00Z",
            "history": [
                {"timestamp": "2023-01-01T00:00:00Z", "strength": 60, "event": "first project"},
                {"timestamp": "2024-01-01T00:00:00Z", "strength": 85}
            ]
        },
        "signatures": [
            {"did": ALICE, "signature": "MEUCIQDx"},
            {"did": BOB, "signature": "MEQCIGh0"}
        ],
        "createdAt": "2024-09-01T12:00:00Z"
    })
}

/// A valid relationship record with verification shape B, as `RhizRepoWriter` writes it.
pub(crate) fn relationship_json_b() -> Value {
    json!({
        "$type": "net.rhiz.relationship.record",
        "participants": [ALICE, CAROL],
        "type": "personal",
        "strength": 70,
        "context": "Neighbours",
        "verification": {
            "consensusScore": 75,
            "verifierCount": 2,
            "confidence": 90,
            "lastVerified": "2024-08-15T08:30:00.000Z",
            "verifiers": [BOB, "did:plc:eygmaihciaxprqvxpfvl6flk"]
        },
        "privacy": {"visibility": "network", "consent": "limited"},
        "temporal": {"start": "2020-06-01T00:00:00Z", "lastInteraction": "2024-08-15T08:30:00Z"},
        "createdAt": "2024-08-15T08:30:00.000Z"
    })
}

/// A valid attestation record with every field.
pub(crate) fn attestation_json() -> Value {
    json!({
        "$type": "net.rhiz.relationship.attestation",
        "targetRelationship": REL_URIS[1],
        "attester": CAROL,
        "attestationType": "strengthen",
        "confidence": 80,
        "evidence": "Saw them ship three releases together",
        "suggestedStrength": 90,
        "targetFields": ["strength"],
        "createdAt": "2024-09-10T10:00:00Z",
        "stake": {
            "amount": 1000,
            "token": "RHIZ",
            "lockedUntil": "2025-09-10T10:00:00Z",
            "slashingRisk": 10,
            "slashed": false
        }
    })
}

/// `value` with `key` set.
pub(crate) fn with(mut value: Value, key: &str, v: Value) -> Value {
    value[key] = v;
    value
}

/// `value` with the nested field at `path` set.
pub(crate) fn with_path(mut value: Value, path: &[&str], v: Value) -> Value {
    let mut at = &mut value;
    for key in path {
        at = &mut at[*key];
    }
    *at = v;
    value
}

/// `value` without `keys`.
pub(crate) fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Some(map) = value.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
    }
    value
}

/// `value` without the nested field at `path`.
pub(crate) fn without_path(mut value: Value, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut at = &mut value;
    for key in parents {
        at = &mut at[*key];
    }
    if let Some(map) = at.as_object_mut() {
        map.remove(*last);
    }
    value
}

/// Asserts that `result` failed with a message starting with `expected`; returns the error.
#[track_caller]
pub(crate) fn expect_err<T: std::fmt::Debug>(
    result: Result<T, RecordError>,
    expected: &str,
) -> RecordError {
    match result {
        Ok(v) => panic!("expected error {expected:?}, got Ok({v:?})"),
        Err(e) => {
            assert!(
                e.to_string().starts_with(expected),
                "expected error starting with {expected:?}, got {:?}",
                e.to_string()
            );
            e
        }
    }
}

pub(crate) fn arb_did() -> impl Strategy<Value = Did> {
    prop::sample::select(DIDS).prop_map(|s| s.parse().expect("fixture DID"))
}

pub(crate) fn arb_datetime() -> impl Strategy<Value = Datetime> {
    prop::sample::select(DATETIMES).prop_map(|s| s.parse().expect("fixture datetime"))
}

pub(crate) fn arb_rel_uri() -> impl Strategy<Value = AtUri> {
    prop::sample::select(REL_URIS).prop_map(|s| s.parse().expect("fixture AT-URI"))
}

pub(crate) fn arb_percent() -> impl Strategy<Value = Percent> {
    (0u8..=100).prop_map(|n| Percent::new(n).expect("in range"))
}

/// Any text of at most `max_bytes` UTF-8 bytes, multi-byte characters included.
pub(crate) fn arb_text(max_bytes: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..40).prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max_bytes {
                break;
            }
            s.push(c);
        }
        s
    })
}

fn arb_open<T: From<String> + std::fmt::Debug>(
    known: &'static [&'static str],
) -> impl Strategy<Value = T> {
    prop_oneof![
        prop::sample::select(known).prop_map(|s| T::from(s.to_owned())),
        "[a-z][a-z-]{0,11}".prop_map(T::from),
    ]
}

fn arb_json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        arb_text(20).prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_json_leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown keys (all starting `x_`, so no lexicon field) with any JSON values.
pub(crate) fn arb_extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-zA-Z0-9]{1,6}", arb_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

pub(crate) fn arb_profile() -> impl Strategy<Value = EntityProfile> {
    (
        arb_text(EntityProfile::DISPLAY_NAME_MAX_BYTES),
        arb_open::<EntityType>(EntityType::KNOWN),
        prop::option::of(arb_text(EntityProfile::BIO_MAX_BYTES)),
        prop::option::of(prop::sample::select(
            &[
                "https://a.example/x.png",
                "ipfs:bafy",
                "at://did:plc:x/a.b.c/self",
            ][..],
        )),
        prop::option::of(any::<bool>()),
        prop::option::of(arb_extra()),
        arb_datetime(),
        arb_extra(),
    )
        .prop_map(
            |(display_name, entity_type, bio, avatar, verified, metadata, created_at, extra)| {
                EntityProfile {
                    display_name,
                    entity_type,
                    bio,
                    avatar_url: avatar.map(str::to_owned),
                    verified,
                    metadata,
                    created_at,
                    extra,
                }
            },
        )
}

fn arb_verification() -> impl Strategy<Value = Verification> {
    let a = (
        arb_percent(),
        any::<u32>(),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        arb_datetime(),
        prop::option::of(prop::sample::select(
            &[Trend::Increasing, Trend::Stable, Trend::Decreasing][..],
        )),
        prop::option::of(arb_percent()),
        arb_extra(),
    )
        .prop_map(
            |(
                consensus_score,
                attestation_count,
                verify_count,
                dispute_count,
                last_updated,
                trend,
                top,
                extra,
            )| {
                Verification::Attestations(AttestationSummary {
                    consensus_score,
                    attestation_count,
                    verify_count,
                    dispute_count,
                    last_updated,
                    trend,
                    top_attester_reputation: top,
                    extra,
                })
            },
        );
    let b = (
        arb_percent(),
        any::<u32>(),
        arb_percent(),
        arb_datetime(),
        prop::option::of(prop::collection::vec(arb_did(), 0..4)),
        arb_extra(),
    )
        .prop_map(
            |(consensus_score, verifier_count, confidence, last_verified, verifiers, extra)| {
                Verification::Verifiers(VerifierSummary {
                    consensus_score,
                    verifier_count,
                    confidence,
                    last_verified,
                    verifiers,
                    extra,
                })
            },
        );
    prop_oneof![a, b]
}

fn arb_privacy() -> impl Strategy<Value = Privacy> {
    (
        arb_open::<Visibility>(Visibility::KNOWN),
        arb_open::<Consent>(Consent::KNOWN),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        arb_extra(),
    )
        .prop_map(
            |(visibility, consent, allow_discovery, allow_attestation, extra)| Privacy {
                visibility,
                consent,
                allow_discovery,
                allow_attestation,
                extra,
            },
        )
}

fn arb_temporal() -> impl Strategy<Value = Temporal> {
    let point = (
        arb_datetime(),
        arb_percent(),
        prop::option::of(arb_text(500)),
        arb_extra(),
    )
        .prop_map(|(timestamp, strength, event, extra)| StrengthPoint {
            timestamp,
            strength,
            event,
            extra,
        });
    (
        arb_datetime(),
        arb_datetime(),
        prop::option::of(prop::collection::vec(point, 0..4)),
        arb_extra(),
    )
        .prop_map(|(start, last_interaction, history, extra)| Temporal {
            start,
            last_interaction,
            history,
            extra,
        })
}

pub(crate) fn arb_relationship() -> impl Strategy<Value = RelationshipRecord> {
    let signature =
        (arb_did(), "[A-Za-z0-9+/=]{0,24}", arb_extra()).prop_map(|(did, signature, extra)| {
            Signature {
                did,
                signature,
                extra,
            }
        });
    let participants = (arb_did(), arb_did()).prop_filter("distinct participants", |(a, b)| a != b);
    (
        participants,
        arb_open::<RelationshipType>(RelationshipType::KNOWN),
        arb_percent(),
        arb_text(RelationshipRecord::CONTEXT_MAX_BYTES),
        arb_verification(),
        arb_privacy(),
        arb_temporal(),
        prop::option::of(prop::collection::vec(signature, 0..3)),
        arb_datetime(),
        arb_extra(),
    )
        .prop_map(
            |(
                (a, b),
                relationship_type,
                strength,
                context,
                verification,
                privacy,
                temporal,
                signatures,
                created_at,
                extra,
            )| {
                RelationshipRecord {
                    participants: [a, b],
                    relationship_type,
                    strength,
                    context,
                    verification,
                    privacy,
                    temporal,
                    signatures,
                    created_at,
                    extra,
                }
            },
        )
}

pub(crate) fn arb_attestation() -> impl Strategy<Value = Attestation> {
    let stake = (
        0..=i64::MAX as u64,
        "[A-Z]{1,6}",
        prop::option::of(arb_datetime()),
        prop::option::of(arb_percent()),
        prop::option::of(any::<bool>()),
        arb_extra(),
    )
        .prop_map(
            |(amount, token, locked_until, slashing_risk, slashed, extra)| Stake {
                amount,
                token,
                locked_until,
                slashing_risk,
                slashed,
                extra,
            },
        );
    let field = prop::sample::select(
        &[
            TargetField::Strength,
            TargetField::Type,
            TargetField::Context,
            TargetField::Verification,
        ][..],
    );
    let kind = prop::sample::select(
        &[
            AttestationType::Verify,
            AttestationType::Dispute,
            AttestationType::Strengthen,
            AttestationType::Weaken,
        ][..],
    );
    (
        arb_rel_uri(),
        arb_did(),
        kind,
        arb_percent(),
        prop::option::of(arb_text(Attestation::EVIDENCE_MAX_BYTES)),
        prop::option::of(arb_percent()),
        prop::option::of(prop::collection::vec(field, 0..4)),
        arb_datetime(),
        prop::option::of(stake),
        arb_extra(),
    )
        .prop_map(
            |(
                target_relationship,
                attester,
                attestation_type,
                confidence,
                evidence,
                suggested_strength,
                target_fields,
                created_at,
                stake,
                extra,
            )| {
                Attestation {
                    target_relationship,
                    attester,
                    attestation_type,
                    confidence,
                    evidence,
                    suggested_strength,
                    target_fields,
                    created_at,
                    stake,
                    extra,
                }
            },
        )
}
