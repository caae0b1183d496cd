//! Validated records turned into the rows the store keeps.

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Attestation, Cid, Did, EntityProfile, Event, RelationshipRecord};
use rhiz_store::{EntityPatch, NewEntity, RecordJson, StoredAttestation, StoredRelationship};

/// The JSON text of the record `event` creates or updates, serialized
/// once for the event log's payload and the store's row.
pub(super) fn record_json(event: &Event) -> RecordJson {
    let raw = event
        .record_raw()
        .expect("a create or update carries a record");
    RecordJson::from_raw(raw.to_owned())
}

/// The stored row of a relationship record, with its JSON text `text`,
/// applied at `now`.
pub(super) fn relationship_row(
    uri: &AtUri,
    cid: &Cid,
    author: &Did,
    record: &RelationshipRecord,
    text: RecordJson,
    now: DateTime<Utc>,
) -> StoredRelationship {
    StoredRelationship {
        uri: uri.clone(),
        cid: cid.clone(),
        author: author.clone(),
        participants: record.participants.clone(),
        rel_type: record.relationship_type.as_str().to_owned(),
        strength: record.strength.get(),
        context: record.context.clone(),
        visibility: record.privacy.visibility.as_str().to_owned(),
        allow_discovery: record.allow_discovery(),
        allow_attestation: record.allow_attestation(),
        started_at: record.temporal.start.to_utc(),
        last_interaction_at: record.temporal.last_interaction.to_utc(),
        created_at: record.created_at.to_utc(),
        indexed_at: now,
        record: text,
        signed: record.signed(),
        strength_deviation: record.strength_deviation(),
    }
}

/// The stored row of an attestation record, with its JSON text `text`,
/// applied at `now`.
pub(super) fn attestation_row(
    uri: &AtUri,
    cid: &Cid,
    record: &Attestation,
    text: RecordJson,
    now: DateTime<Utc>,
) -> StoredAttestation {
    StoredAttestation {
        uri: uri.clone(),
        cid: cid.clone(),
        attester: record.attester.clone(),
        target: record.target_relationship.clone(),
        attestation_type: record.attestation_type.as_str().to_owned(),
        confidence: record.confidence.get(),
        evidence: record.evidence.clone(),
        suggested_strength: record.suggested_strength.map(|s| s.get()),
        created_at: record.created_at.to_utc(),
        indexed_at: now,
        record: text,
    }
}

/// The entity a first profile record creates. `verified` is never taken
/// from the record (CONTRACT.md §4.4).
pub(super) fn new_entity(did: &Did, uri: &AtUri, cid: &Cid, record: &EntityProfile) -> NewEntity {
    NewEntity {
        did: did.clone(),
        handle: None,
        name: record.display_name.clone(),
        entity_type: record.entity_type.as_str().to_owned(),
        bio: record.bio.clone(),
        avatar_url: record.avatar_url.clone(),
        profile_uri: Some(uri.clone()),
        profile_cid: Some(cid.clone()),
        created_at: record.created_at.to_utc(),
    }
}

/// The change a later profile record makes to its entity: every profile
/// field is replaced (absent optional fields clear), the handle stays.
pub(super) fn profile_patch(uri: &AtUri, cid: &Cid, record: &EntityProfile) -> EntityPatch {
    EntityPatch {
        name: Some(record.display_name.clone()),
        entity_type: Some(record.entity_type.as_str().to_owned()),
        bio: Some(record.bio.clone()),
        avatar_url: Some(record.avatar_url.clone()),
        handle: None,
        profile_uri: Some(Some(uri.clone())),
        profile_cid: Some(Some(cid.clone())),
    }
}
