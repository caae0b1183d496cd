use chrono::Utc;
use rhiz_protocol::{EventBody, EventKind};
use serde_json::{json, Value};

use crate::ingest::{parse_ingestion_body, IngestError};

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";
const CAROL: &str = "did:plc:carol";
const CID: &str = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi";
const REL_URI: &str = "at://did:plc:alice/net.rhiz.relationship.record/3jzfcijpj2z2a";
const ATT_URI: &str = "at://did:plc:carol/net.rhiz.relationship.attestation/3jzfcijpj2z2b";

fn relationship_payload() -> Value {
    json!({
        "uri": REL_URI, "cid": CID, "participants": [ALICE, BOB], "type": "professional",
        "strength": 85, "context": "worked together", "created_at": "2024-09-09T19:46:02.329Z",
    })
}

fn attestation_payload() -> Value {
    json!({
        "uri": ATT_URI, "cid": CID, "attester_did": CAROL, "target_uri": REL_URI,
        "attestation_type": "verify", "confidence": 90, "created_at": "2024-09-10T10:00:00Z",
        "indexed_at": "2024-09-10T10:00:01Z",
    })
}

fn body(event_type: &str, did: &str, payload: Value) -> Value {
    json!({"event_type": event_type, "did": did, "payload": payload})
}

fn invalid_field(body: Value) -> String {
    match parse_ingestion_body(&body, Utc::now()).unwrap_err() {
        IngestError::Invalid { field, .. } => field,
        other => panic!("expected a rule error, got {other:?}"),
    }
}

fn with(mut payload: Value, key: &str, value: Value) -> Value {
    payload[key] = value;
    payload
}

fn without(mut payload: Value, key: &str) -> Value {
    payload.as_object_mut().unwrap().remove(key);
    payload
}

#[test]
fn a_flat_relationship_gets_the_contract_defaults() {
    let event = parse_ingestion_body(
        &body("relationship.created", ALICE, relationship_payload()),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(event.kind(), EventKind::RelationshipCreated);
    let EventBody::RelationshipCreated(record) = event.body() else {
        panic!("not a relationship")
    };
    assert_eq!(record.strength.get(), 85);
    assert!(record.is_discoverable());
    assert!(record.allow_attestation());
    assert_eq!(record.temporal.start, record.created_at);
    assert_eq!(record.temporal.last_interaction, record.created_at);
}

#[test]
fn flat_field_errors_name_the_flat_field() {
    let cases = [
        (
            with(relationship_payload(), "strength", json!(101)),
            "payload.strength",
        ),
        (
            with(relationship_payload(), "strength", json!("strong")),
            "payload.strength",
        ),
        (
            with(relationship_payload(), "participants", json!([ALICE])),
            "payload.participants",
        ),
        (
            with(
                relationship_payload(),
                "participants",
                json!([ALICE, "bob"]),
            ),
            "payload.participants[1]",
        ),
        (
            with(relationship_payload(), "context", json!("x".repeat(501))),
            "payload.context",
        ),
        (
            with(relationship_payload(), "created_at", json!("yesterday")),
            "payload.created_at",
        ),
        (without(relationship_payload(), "type"), "payload.type"),
        (without(relationship_payload(), "uri"), "payload.uri"),
        (
            with(relationship_payload(), "cid", json!("nope")),
            "payload.cid",
        ),
        (
            with(
                relationship_payload(),
                "uri",
                json!("at://did:plc:alice/net.rhiz.relationship.record/self"),
            ),
            "payload.uri",
        ),
    ];
    for (payload, field) in cases {
        assert_eq!(
            invalid_field(body("relationship.created", ALICE, payload.clone())),
            field,
            "{payload}"
        );
    }
}

#[test]
fn protocol_rules_name_the_field_at_fault() {
    // The author must own the URI, and be a participant.
    assert_eq!(
        invalid_field(body("relationship.created", BOB, relationship_payload())),
        "did"
    );
    let outsider = with(
        with(relationship_payload(), "participants", json!([BOB, CAROL])),
        "uri",
        json!(REL_URI),
    );
    assert_eq!(
        invalid_field(body("relationship.created", ALICE, outsider)),
        "did"
    );
    // The attester must be the author.
    let payload = with(attestation_payload(), "attester_did", json!(BOB));
    assert_eq!(
        invalid_field(body("attestation.created", CAROL, payload)),
        "payload.attester_did"
    );
    // Attestations carry indexed_at; an unknown attestation type is refused.
    assert_eq!(
        invalid_field(body(
            "attestation.created",
            CAROL,
            without(attestation_payload(), "indexed_at")
        )),
        "payload.indexed_at"
    );
    let payload = with(attestation_payload(), "attestation_type", json!("endorse"));
    assert_eq!(
        invalid_field(body("attestation.created", CAROL, payload)),
        "payload.attestation_type"
    );
}

#[test]
fn the_record_is_authoritative_and_flat_fields_must_agree() {
    let record = json!({
        "$type": "net.rhiz.relationship.record",
        "participants": [ALICE, BOB], "type": "personal", "strength": 70, "context": "",
        "verification": {"consensusScore": 80, "verifierCount": 2, "confidence": 90, "lastVerified": "2024-09-09T19:46:02Z"},
        "privacy": {"visibility": "private", "consent": "anonymous"},
        "temporal": {"start": "2020-01-01T00:00:00Z", "lastInteraction": "2024-09-01T00:00:00Z"},
        "createdAt": "2024-09-09T19:46:02.329Z",
    });
    let payload = json!({"uri": REL_URI, "cid": CID, "record": record, "created_at": "2024-09-09T19:46:02.329000Z"});
    let event =
        parse_ingestion_body(&body("relationship.updated", ALICE, payload), Utc::now()).unwrap();
    let EventBody::RelationshipUpdated(parsed) = event.body() else {
        panic!("not an update")
    };
    assert!(!parsed.is_discoverable());
    assert_eq!(parsed.strength.get(), 70);

    let contradicting = json!({"uri": REL_URI, "cid": CID, "record": record, "strength": 85});
    assert_eq!(
        invalid_field(body("relationship.updated", ALICE, contradicting)),
        "payload.strength"
    );
    let mut broken = record.clone();
    broken["temporal"]["start"] = json!("soon");
    let payload = json!({"uri": REL_URI, "cid": CID, "record": broken});
    assert_eq!(
        invalid_field(body("relationship.updated", ALICE, payload)),
        "payload.record.temporal.start"
    );
}

#[test]
fn deletes_need_only_the_uri_and_profiles_accept_camel_case() {
    let event = parse_ingestion_body(
        &body(
            "relationship.deleted",
            ALICE,
            json!({"uri": REL_URI, "participants": [ALICE, BOB]}),
        ),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(event.kind(), EventKind::RelationshipDeleted);
    assert_eq!(
        invalid_field(body("attestation.deleted", CAROL, json!({}))),
        "payload.uri"
    );

    let profile = json!({
        "uri": "at://did:plc:alice/net.rhiz.entity.profile/self", "cid": CID,
        "displayName": "Alice", "entityType": "person", "createdAt": "2024-09-09T19:46:02Z",
    });
    let event = parse_ingestion_body(
        &body("entity.profile.updated", ALICE, profile.clone()),
        Utc::now(),
    )
    .unwrap();
    let EventBody::EntityProfileUpdated(parsed) = event.body() else {
        panic!("not a profile")
    };
    assert_eq!(parsed.display_name, "Alice");
    let payload = with(profile, "displayName", json!("x".repeat(201)));
    assert_eq!(
        invalid_field(body("entity.profile.updated", ALICE, payload)),
        "payload.display_name"
    );
}

#[test]
fn trust_invalidated_takes_an_optional_reason() {
    let event = parse_ingestion_body(
        &body(
            "trust.invalidated",
            ALICE,
            json!({"reason": "rotated", "other": 1}),
        ),
        Utc::now(),
    )
    .unwrap();
    assert!(
        matches!(event.body(), EventBody::TrustInvalidated { reason: Some(r) } if r == "rotated")
    );
    assert_eq!(
        invalid_field(body("trust.invalidated", ALICE, json!({"reason": 5}))),
        "payload.reason"
    );
}

#[test]
fn ingestion_body_round_trips_every_kind() {
    let bodies = [
        body("relationship.created", ALICE, relationship_payload()),
        body("attestation.updated", CAROL, attestation_payload()),
        body("relationship.deleted", ALICE, json!({"uri": REL_URI})),
        body("trust.invalidated", ALICE, json!({"reason": "why"})),
    ];
    for original in bodies {
        let event = parse_ingestion_body(&original, Utc::now()).unwrap();
        let again =
            parse_ingestion_body(&crate::ingest::ingestion_body(&event), Utc::now()).unwrap();
        assert_eq!(again.id(), event.id());
        assert_eq!(again.kind(), event.kind());
        assert_eq!(again.uri(), event.uri());
        assert_eq!(again.cid(), event.cid());
        assert_eq!(again.body(), event.body());
        assert_eq!(again.priority(), event.priority());
    }
}

/// Text parsed as borrowed JSON judges exactly as a `serde_json::Value` of
/// it: same event, same error; a repeated key means its last value in both.
#[test]
fn borrowed_json_and_value_judge_alike() {
    let now = Utc::now();
    let record = r#"{"$type":"net.rhiz.relationship.record","participants":["did:plc:alice","did:plc:bob"],"type":"personal","strength":10,"strength":66,"context":"a \"quoted\" \u00e9 context","verification":{"consensusScore":50,"attestationCount":0,"lastUpdated":"2024-11-01T03:24:37.660Z"},"privacy":{"visibility":"network","consent":"full"},"temporal":{"start":"2024-10-06T23:22:35.452Z","lastInteraction":"2025-04-09T09:23:06.110Z"},"createdAt":"2024-11-01T03:24:37.660Z","x-extra":{"b":1,"b":2}}"#;
    let line = |strength: &str, extra: &str| {
        format!(
            r#"{{"event_type":"relationship.created","did":"{ALICE}","event_id":"e-1","payload":{{"uri":"{REL_URI}","cid":"{CID}","strength":{strength},"record":{record}{extra}}}}}"#
        )
    };
    let cases = [
        line("66", ""),
        line("10", ""),
        line("10, \"strength\": 66", ""),
        line("66", r#","indexed_at":"not a time""#),
        line("\"66\"", ""),
    ];
    for text in &cases {
        let value: Value = serde_json::from_str(text).unwrap();
        let json: rhiz_protocol::Json<'_> = serde_json::from_str(text).unwrap();
        let from_value = parse_ingestion_body(&value, now);
        let from_json = crate::ingest::parse_ingestion_json(&json, now);
        assert_eq!(from_value, from_json, "{text}");
    }
    let json: rhiz_protocol::Json<'_> = serde_json::from_str(&cases[0]).unwrap();
    let event = crate::ingest::parse_ingestion_json(&json, now).unwrap();
    let EventBody::RelationshipCreated(record) = event.body() else {
        panic!("not a relationship")
    };
    assert_eq!(record.strength.get(), 66);
    assert_eq!(record.context, "a \"quoted\" é context");
    assert_eq!(record.extra["x-extra"], json!({"b": 2}));
    assert!(
        crate::ingest::parse_ingestion_json(&serde_json::from_str(&cases[1]).unwrap(), now)
            .is_err()
    );
}
