//! Re-parses dataset lines through rhiz-protocol, as the server's ingest does.

use rhiz_protocol::{
    AtUri, Cid, Did, Event, EventBody, EventId, EventKind, Nsid, Priority, Record,
};
use serde_json::Value;

/// The event types of CONTRACT §4.3 a dataset line may have.
const INGEST_KINDS: &[&str] = &[
    "relationship.created",
    "relationship.updated",
    "attestation.created",
    "entity.profile.updated",
];

/// Validates one NDJSON line as a §4.2 body with a §4.4 payload whose
/// `record` passes its lexicon and whose flat fields agree with it; returns
/// the event rhiz-protocol builds from it.
pub(crate) fn validate_line(text: &str) -> Result<Event, String> {
    let body: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let keys = keys_in_order(text)?;
    if keys != ["event_type", "did", "priority", "event_id", "payload"] {
        return Err(format!("unexpected body keys {keys:?}"));
    }
    let str_of = |v: &Value, name: &str| -> Result<String, String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or(format!("{name} is not a string"))
    };
    let event_type = str_of(&body["event_type"], "event_type")?;
    if !INGEST_KINDS.contains(&event_type.as_str()) {
        return Err(format!("event_type {event_type} is not a dataset kind"));
    }
    let kind: EventKind = event_type.parse().map_err(|e| format!("{e}"))?;
    let did: Did = str_of(&body["did"], "did")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let priority = body["priority"]
        .as_i64()
        .ok_or("priority is not an integer")?;
    let priority = Priority::try_from(priority).map_err(|e| format!("{e}"))?;
    let id: EventId = str_of(&body["event_id"], "event_id")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let p = body["payload"]
        .as_object()
        .ok_or("payload is not an object")?;
    let uri: AtUri = str_of(&p["uri"], "uri")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let cid: Cid = str_of(&p["cid"], "cid")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let record_json = p.get("record").ok_or("payload has no record")?;
    let collection: Nsid = uri.collection().ok_or("uri has no collection")?;
    let record = Record::from_json_for(&collection, record_json).map_err(|e| format!("{e}"))?;
    if &record.to_json() != record_json {
        return Err("record does not round-trip".into());
    }
    let flat_ok = |key: &str, expected: Value| -> Result<(), String> {
        if p.get(key) == Some(&expected) {
            Ok(())
        } else {
            Err(format!(
                "flat {key} = {:?}, record says {expected}",
                p.get(key)
            ))
        }
    };
    let r = record_json;
    let created_at = match &record {
        Record::Relationship(rel) => {
            flat_ok("participants", r["participants"].clone())?;
            flat_ok("type", r["type"].clone())?;
            flat_ok("strength", r["strength"].clone())?;
            flat_ok("context", r["context"].clone())?;
            flat_ok("created_at", r["createdAt"].clone())?;
            rel.created_at.clone()
        }
        Record::Attestation(a) => {
            flat_ok("attester_did", r["attester"].clone())?;
            flat_ok("target_uri", r["targetRelationship"].clone())?;
            flat_ok("attestation_type", r["attestationType"].clone())?;
            flat_ok("confidence", r["confidence"].clone())?;
            flat_ok("created_at", r["createdAt"].clone())?;
            if r.get("evidence").is_some() {
                flat_ok("evidence", r["evidence"].clone())?;
            }
            if r.get("suggestedStrength").is_some() {
                flat_ok("suggested_strength", r["suggestedStrength"].clone())?;
            }
            p.get("indexed_at")
                .ok_or("attestation without indexed_at")?;
            a.created_at.clone()
        }
        Record::EntityProfile(profile) => {
            flat_ok("display_name", r["displayName"].clone())?;
            flat_ok("entity_type", r["entityType"].clone())?;
            flat_ok("created_at", r["createdAt"].clone())?;
            if r.get("bio").is_some() {
                flat_ok("bio", r["bio"].clone())?;
            }
            if r.get("avatarUrl").is_some() {
                flat_ok("avatar_url", r["avatarUrl"].clone())?;
            }
            profile.created_at.clone()
        }
    };
    let body = match kind {
        EventKind::RelationshipCreated | EventKind::AttestationCreated => {
            EventBody::created(record)
        }
        _ => EventBody::updated(record),
    };
    if body.kind() != kind {
        return Err(format!("{kind} carries a {} record", collection.as_str()));
    }
    Event::for_record(id, did, uri, Some(cid), body, created_at)
        .map(|e| e.with_priority(priority))
        .map_err(|e| format!("{e}"))
}

/// The keys of the JSON object `text`, in the order the text gives them
/// (a parsed [`Value`] orders them by name).
fn keys_in_order(text: &str) -> Result<Vec<String>, String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                keys.push(key);
            }
            Ok(keys)
        }
    }
    let mut json = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut json, Keys).map_err(|e| format!("body: {e}"))
}
