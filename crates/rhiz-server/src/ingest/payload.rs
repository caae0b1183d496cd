//! The payload of each event type (CONTRACT.md §4.4): flat snake_case fields,
//! and optionally the whole lexicon `record`, which is authoritative.
//!
//! Without `record`, the record is built from the flat fields, with the
//! contract's defaults for what the flat shape cannot say: a relationship is
//! public with full consent, its `temporal.start` and `lastInteraction` are
//! its `created_at`, and its self-reported verification is neutral (50, no
//! attestations). With `record`, flat fields are optional, and one that
//! contradicts the record is an error.

use rhiz_protocol::{
    json_get, AtUri, Attestation, Cid, Datetime, Did, EntityProfile, Event, EventBody, EventError,
    EventId, EventKind, Json, Nsid, Record, RecordError, RelationshipRecord,
};
use serde_json::{json, Map, Value};
use serde_json_borrow::ObjectAsVec;

use super::IngestError;

/// A flat payload field and the record field it stands for.
struct FlatField {
    /// The snake_case name in the payload.
    flat: &'static str,
    /// The camelCase name in the lexicon record.
    camel: &'static str,
    /// Whether the payload must carry it when it has no `record`.
    required: bool,
}

const fn field(flat: &'static str, camel: &'static str, required: bool) -> FlatField {
    FlatField {
        flat,
        camel,
        required,
    }
}

const RELATIONSHIP_FIELDS: &[FlatField] = &[
    field("participants", "participants", true),
    field("type", "type", true),
    field("strength", "strength", true),
    field("context", "context", false),
    field("created_at", "createdAt", true),
];

const ATTESTATION_FIELDS: &[FlatField] = &[
    field("attester_did", "attester", true),
    field("target_uri", "targetRelationship", true),
    field("attestation_type", "attestationType", true),
    field("confidence", "confidence", true),
    field("evidence", "evidence", false),
    field("suggested_strength", "suggestedStrength", false),
    field("created_at", "createdAt", true),
];

const PROFILE_FIELDS: &[FlatField] = &[
    field("display_name", "displayName", true),
    field("entity_type", "entityType", true),
    field("bio", "bio", false),
    field("avatar_url", "avatarUrl", false),
    field("created_at", "createdAt", true),
];

/// Record fields that are datetimes: compared as instants, not as text.
const DATETIME_FIELDS: &[&str] = &["createdAt"];

/// Builds the event of `kind` from its payload.
pub(super) fn event_from_payload(
    kind: EventKind,
    id: EventId,
    did: Did,
    payload: &ObjectAsVec<'_>,
    source_time: Datetime,
) -> Result<Event, IngestError> {
    let Some(collection) = kind.collection() else {
        let reason = optional_string(payload, "reason")?.map(str::to_owned);
        return Ok(Event::trust_invalidated(id, did, reason, source_time));
    };
    let uri: AtUri = required_flat(payload, "uri")?
        .parse()
        .map_err(|error| IngestError::invalid("payload.uri", error))?;
    let cid = optional_string(payload, "cid")?
        .map(str::parse::<Cid>)
        .transpose()
        .map_err(|error| IngestError::invalid("payload.cid", error))?;
    if kind.carries_record() {
        indexed_at(kind, payload)?;
    }
    let nsid: Nsid = collection
        .parse()
        .map_err(|error| IngestError::invalid("event_type", error))?;
    let body = if kind.is_delete() {
        EventBody::deleted(&nsid).map_err(|error| IngestError::invalid("event_type", error))?
    } else {
        let record = record_from_payload(&nsid, payload)?;
        match kind {
            EventKind::RelationshipCreated
            | EventKind::AttestationCreated
            | EventKind::EntityProfileCreated => EventBody::created(record),
            _ => EventBody::updated(record),
        }
    };
    Event::for_record(id, did, uri, cid, body, source_time).map_err(event_rule_error)
}

/// `indexed_at`: required for attestations (the contract's table), optional
/// elsewhere, a datetime whenever present.
fn indexed_at(kind: EventKind, payload: &ObjectAsVec<'_>) -> Result<(), IngestError> {
    let value = if matches!(
        kind,
        EventKind::AttestationCreated | EventKind::AttestationUpdated
    ) {
        Some(required_flat(payload, "indexed_at")?)
    } else {
        optional_string(payload, "indexed_at")?
    };
    if let Some(value) = value {
        value
            .parse::<Datetime>()
            .map_err(|error| IngestError::invalid("payload.indexed_at", error))?;
    }
    Ok(())
}

fn fields_of(collection: &Nsid) -> &'static [FlatField] {
    match collection.as_str() {
        RelationshipRecord::NSID => RELATIONSHIP_FIELDS,
        Attestation::NSID => ATTESTATION_FIELDS,
        _ => PROFILE_FIELDS,
    }
}

/// The record of a create or update: `record` when present (checked against
/// the flat fields), else one built from the flat fields.
fn record_from_payload(
    collection: &Nsid,
    payload: &ObjectAsVec<'_>,
) -> Result<Record, IngestError> {
    let fields = fields_of(collection);
    let accepts_camel = collection.as_str() == EntityProfile::NSID;
    match json_get(payload, "record") {
        Some(value @ Json::Object(given)) => {
            let record = Record::from_json_ref_for(collection, value)
                .map_err(|error| record_error("payload.record", &error, None))?;
            for f in fields {
                let Some(flat) = flat_value(payload, f, accepts_camel) else {
                    continue;
                };
                if !same_value(f.camel, flat, json_get(given, f.camel)) {
                    return Err(IngestError::invalid(
                        format!("payload.{}", f.flat),
                        format!("contradicts payload.record.{}", f.camel),
                    ));
                }
            }
            Ok(record)
        }
        None | Some(Json::Null) => {
            let mut built = Map::new();
            built.insert("$type".to_owned(), json!(collection.as_str()));
            for f in fields {
                match flat_value(payload, f, accepts_camel) {
                    Some(value) => {
                        built.insert(f.camel.to_owned(), Value::from(value));
                    }
                    None if f.required => {
                        return Err(IngestError::invalid(
                            format!("payload.{}", f.flat),
                            "Field required",
                        ))
                    }
                    None => {}
                }
            }
            if collection.as_str() == RelationshipRecord::NSID {
                // The defaults copy `created_at`: check it first, so that its
                // error names it rather than a default built from it.
                if let Some(created_at) = built.get("createdAt") {
                    created_at
                        .as_str()
                        .ok_or("must be a datetime string")
                        .and_then(|s| {
                            s.parse::<Datetime>()
                                .map_err(|_| "must be an RFC 3339 datetime")
                        })
                        .map_err(|rule| IngestError::invalid("payload.created_at", rule))?;
                }
                add_relationship_defaults(&mut built);
            }
            Record::from_json_for(collection, &Value::Object(built))
                .map_err(|error| record_error("payload", &error, Some(fields)))
        }
        Some(_) => Err(IngestError::invalid(
            "payload.record",
            "must be a JSON object (the lexicon record)",
        )),
    }
}

/// What the flat shape cannot say, filled in as CONTRACT.md §4.4 says.
fn add_relationship_defaults(record: &mut Map<String, Value>) {
    let created_at = record.get("createdAt").cloned().unwrap_or(Value::Null);
    record
        .entry("context")
        .or_insert_with(|| Value::String(String::new()));
    record.insert(
        "verification".to_owned(),
        json!({"consensusScore": 50, "attestationCount": 0, "lastUpdated": created_at}),
    );
    record.insert(
        "privacy".to_owned(),
        json!({"visibility": "public", "consent": "full"}),
    );
    record.insert(
        "temporal".to_owned(),
        json!({"start": created_at, "lastInteraction": created_at}),
    );
}

/// The flat field's value when present and not null; profiles also accept
/// the camelCase key, as the TS indexer sends it.
fn flat_value<'o, 'a>(
    payload: &'o ObjectAsVec<'a>,
    f: &FlatField,
    accepts_camel: bool,
) -> Option<&'o Json<'a>> {
    let found = json_get(payload, f.flat)
        .or_else(|| accepts_camel.then(|| json_get(payload, f.camel)).flatten());
    found.filter(|value| !value.is_null())
}

/// Whether a flat value says the same as the record's field: equal JSON,
/// or for datetimes the same instant (parsed only when the texts differ).
fn same_value(camel: &str, flat: &Json<'_>, in_record: Option<&Json<'_>>) -> bool {
    let Some(in_record) = in_record else {
        return false;
    };
    if flat == in_record {
        return true;
    }
    if DATETIME_FIELDS.contains(&camel) {
        let instant = |v: &Json<'_>| v.as_str().and_then(|s| s.parse::<Datetime>().ok());
        if let (Some(a), Some(b)) = (instant(flat), instant(in_record)) {
            return a.to_utc() == b.to_utc();
        }
    }
    false
}

/// A lexicon error as an ingest error. For records built from flat fields,
/// the record's field name is mapped back to the flat one the client sent.
fn record_error(prefix: &str, error: &RecordError, fields: Option<&[FlatField]>) -> IngestError {
    let path = error.path();
    let (root, rest) = match path.find(['.', '[']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    let root = fields
        .and_then(|fields| fields.iter().find(|f| f.camel == root))
        .map_or(root, |f| f.flat);
    let field = if root.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}.{root}{rest}")
    };
    IngestError::invalid(field, error.kind())
}

/// A protocol rule broken by the event as a whole, naming the field at fault.
fn event_rule_error(error: EventError) -> IngestError {
    let field = match &error {
        EventError::CollectionMismatch { .. } | EventError::BadRecordKey { .. } => "payload.uri",
        EventError::AuthorMismatch { .. } | EventError::AuthorNotParticipant { .. } => "did",
        EventError::MissingCid { .. } => "payload.cid",
        EventError::AttesterNotAuthor { .. } => "payload.attester_did",
        EventError::TargetNotRelationship { .. } => "payload.target_uri",
        _ => "payload",
    };
    IngestError::invalid(field, error)
}

fn required_flat<'a>(payload: &'a ObjectAsVec<'_>, field: &str) -> Result<&'a str, IngestError> {
    optional_string(payload, field)?
        .ok_or_else(|| IngestError::invalid(format!("payload.{field}"), "Field required"))
}

fn optional_string<'a>(
    payload: &'a ObjectAsVec<'_>,
    field: &str,
) -> Result<Option<&'a str>, IngestError> {
    match json_get(payload, field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Str(s)) => Ok(Some(s)),
        Some(_) => Err(IngestError::invalid(
            format!("payload.{field}"),
            "must be a string",
        )),
    }
}

#[cfg(test)]
mod tests;
