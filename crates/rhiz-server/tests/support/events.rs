//! Ingestion bodies (CONTRACT.md §4.2) for tests: valid records by default,
//! numbered so that many distinct ones can be made.

use serde_json::{json, Value};

/// The internal key test apps accept.
pub const KEY: &str = "test-internal-key-0123456789";

/// A valid CID.
pub const CID: &str = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi";
/// Another valid CID (an updated version).
pub const CID2: &str = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";

/// `did:plc:<name>`.
pub fn did(name: &str) -> String {
    format!("did:plc:{name}")
}

/// A TID record key for `n` (distinct per `n`, valid syntax).
pub fn tid(n: u64) -> String {
    const ALPHABET: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";
    let mut value = (1u64 << 62) | n;
    let mut out = [0u8; 13];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

/// The URI of relationship `n` written by `author`.
pub fn relationship_uri(author: &str, n: u64) -> String {
    format!(
        "at://{}/net.rhiz.relationship.record/{}",
        did(author),
        tid(n)
    )
}

/// The URI of attestation `n` written by `attester`.
pub fn attestation_uri(attester: &str, n: u64) -> String {
    format!(
        "at://{}/net.rhiz.relationship.attestation/{}",
        did(attester),
        tid(n)
    )
}

/// An `entity.profile.updated` body: the profile of the DID `author` (in
/// full), version `cid`.
pub fn profile_updated(author: &str, display_name: &str, cid: &str) -> Value {
    json!({
        "event_type": "entity.profile.updated",
        "did": author,
        "payload": {
            "uri": format!("at://{author}/net.rhiz.entity.profile/self"),
            "cid": cid,
            "display_name": display_name,
            "entity_type": "person",
            "created_at": "2026-01-01T00:00:00Z",
        },
    })
}

/// A `relationship.created` body: `author` and `other`, relationship `n`.
pub fn relationship(author: &str, other: &str, n: u64, strength: u8) -> Value {
    relationship_event("relationship.created", author, other, n, strength, CID)
}

/// A relationship create or update body.
pub fn relationship_event(
    event_type: &str,
    author: &str,
    other: &str,
    n: u64,
    strength: u8,
    cid: &str,
) -> Value {
    json!({
        "event_type": event_type,
        "did": did(author),
        "payload": {
            "uri": relationship_uri(author, n),
            "cid": cid,
            "participants": [did(author), did(other)],
            "type": "professional",
            "strength": strength,
            "created_at": "2026-01-01T00:00:00Z",
        },
    })
}

/// A `relationship.deleted` body.
pub fn relationship_deleted(author: &str, n: u64) -> Value {
    json!({
        "event_type": "relationship.deleted",
        "did": did(author),
        "payload": {"uri": relationship_uri(author, n)},
    })
}

/// The flat `attestation.created` payload (also the body of `POST /api/v1/attestations`).
pub fn attestation_payload(attester: &str, n: u64, target: &str, kind: &str) -> Value {
    json!({
        "uri": attestation_uri(attester, n),
        "cid": CID,
        "attester_did": did(attester),
        "target_uri": target,
        "attestation_type": kind,
        "confidence": 90,
        "created_at": "2026-01-02T00:00:00Z",
        "indexed_at": "2026-01-02T00:00:01Z",
    })
}

/// An `attestation.created` body.
pub fn attestation(attester: &str, n: u64, target: &str, kind: &str) -> Value {
    json!({
        "event_type": "attestation.created",
        "did": did(attester),
        "payload": attestation_payload(attester, n, target, kind),
    })
}

/// A relationship whose owners refuse attestations (consent `anonymous`).
pub fn closed_relationship(author: &str, other: &str, n: u64) -> Value {
    let mut body = relationship(author, other, n, 80);
    body["payload"]["record"] = json!({
        "$type": "net.rhiz.relationship.record",
        "participants": [did(author), did(other)],
        "type": "professional", "strength": 80, "context": "",
        "verification": {"consensusScore": 50, "attestationCount": 0, "lastUpdated": "2026-01-01T00:00:00Z"},
        "privacy": {"visibility": "public", "consent": "anonymous"},
        "temporal": {"start": "2026-01-01T00:00:00Z", "lastInteraction": "2026-01-01T00:00:00Z"},
        "createdAt": "2026-01-01T00:00:00Z",
    });
    body["payload"]
        .as_object_mut()
        .expect("object")
        .remove("strength");
    body
}

/// A `relationship.created` body carrying the full record: type, strength
/// and visibility as given (consent `full`), last interaction
/// `last_interaction` (RFC 3339).
pub fn relationship_record(
    author: &str,
    other: &str,
    n: u64,
    strength: u8,
    kind: &str,
    visibility: &str,
    last_interaction: &str,
) -> Value {
    let mut body = relationship(author, other, n, strength);
    body["payload"]["type"] = json!(kind);
    body["payload"]["record"] = json!({
        "$type": "net.rhiz.relationship.record",
        "participants": [did(author), did(other)],
        "type": kind, "strength": strength, "context": "",
        "verification": {"consensusScore": 50, "attestationCount": 0, "lastUpdated": "2026-01-01T00:00:00Z"},
        "privacy": {"visibility": visibility, "consent": "full"},
        "temporal": {"start": "2026-01-01T00:00:00Z", "lastInteraction": last_interaction},
        "createdAt": "2026-01-01T00:00:00Z",
    });
    body
}
