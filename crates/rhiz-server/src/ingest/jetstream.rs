//! Jetstream events (CONTRACT.md §8) as rhiz events: a commit to one of the
//! Rhiz collections becomes the create, update or delete event of its record;
//! identity and account events, and commits to other collections, are not
//! Rhiz events.

use chrono::{DateTime, Utc};
use rhiz_protocol::{
    json_get, AtUri, Cid, Datetime, Did, Event, EventBody, EventId, Json, Nsid, Record, RecordKey,
};

use super::IngestError;

/// The event of one Jetstream line, or `None` when the line is not about a
/// Rhiz record. The event id is `jetstream:<time_us>:<uri>`, so a replayed
/// stretch of the stream is recognised as duplicates.
pub fn event_from_jetstream(line: &Json<'_>) -> Result<Option<Event>, IngestError> {
    let field = |name: &str| member(line, name);
    let text = |value: Option<&Json<'_>>, name: &str| -> Result<String, IngestError> {
        value
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| IngestError::invalid(name.to_owned(), "must be a string"))
    };
    let kind = text(field("kind"), "kind")?;
    if kind != "commit" {
        return Ok(None);
    }
    let did: Did = text(field("did"), "did")?
        .parse()
        .map_err(|error| IngestError::invalid("did", error))?;
    let time_us = field("time_us")
        .and_then(Json::as_i64)
        .ok_or_else(|| IngestError::invalid("time_us", "must be an integer (Unix microseconds)"))?;
    let commit = field("commit").ok_or_else(|| IngestError::invalid("commit", "Field required"))?;
    let part = |name: &str| member(commit, name);
    let collection: Nsid = text(part("collection"), "commit.collection")?
        .parse()
        .map_err(|error| IngestError::invalid("commit.collection", error))?;
    if !matches!(
        collection.as_str(),
        rhiz_protocol::RelationshipRecord::NSID
            | rhiz_protocol::Attestation::NSID
            | rhiz_protocol::EntityProfile::NSID
    ) {
        return Ok(None);
    }
    let rkey: RecordKey = text(part("rkey"), "commit.rkey")?
        .parse()
        .map_err(|error| IngestError::invalid("commit.rkey", error))?;
    let uri = AtUri::from_parts(&did, &collection, &rkey);
    let operation = text(part("operation"), "commit.operation")?;
    let body = match operation.as_str() {
        "delete" => EventBody::deleted(&collection)
            .map_err(|error| IngestError::invalid("commit.collection", error))?,
        "create" | "update" => {
            let record = part("record").ok_or_else(|| {
                IngestError::invalid("commit.record", "Field required on create and update")
            })?;
            let record = Record::from_json_ref_for(&collection, record).map_err(|error| {
                let path = error.path();
                let field = if path.is_empty() {
                    "commit.record".to_owned()
                } else {
                    format!("commit.record.{path}")
                };
                IngestError::invalid(field, error.kind())
            })?;
            if operation == "create" {
                EventBody::created(record)
            } else {
                EventBody::updated(record)
            }
        }
        other => {
            return Err(IngestError::invalid(
                "commit.operation",
                format!("must be create, update or delete, got {other:?}"),
            ))
        }
    };
    let cid = part("cid")
        .map(|cid| text(Some(cid), "commit.cid"))
        .transpose()?
        .map(|cid| cid.parse::<Cid>())
        .transpose()
        .map_err(|error| IngestError::invalid("commit.cid", error))?;
    let id: EventId = format!("jetstream:{time_us}:{uri}")
        .parse()
        .map_err(|error| IngestError::invalid("commit", error))?;
    let at = DateTime::<Utc>::from_timestamp_micros(time_us)
        .ok_or_else(|| IngestError::invalid("time_us", "out of range"))?;
    Event::for_record(id, did, uri, cid, body, Datetime::from_utc(at))
        .map(Some)
        .map_err(|error| IngestError::invalid("commit", error))
}

/// The member `name` of `object`, when `object` is an object and the member
/// is there and not `null`.
fn member<'o, 'a>(object: &'o Json<'a>, name: &str) -> Option<&'o Json<'a>> {
    json_get(object.as_object()?, name).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn event_from_jetstream(line: &Value) -> Result<Option<Event>, IngestError> {
        super::event_from_jetstream(&Json::from(line))
    }

    fn example() -> Value {
        json!({"did":"did:plc:eygmaihciaxprqvxpfvl6flk","time_us":1725911162329308u64,"kind":"commit",
            "commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"net.rhiz.relationship.attestation",
            "rkey":"3l3qo2vuowo2b","record":{"$type":"net.rhiz.relationship.attestation",
            "targetRelationship":"at://did:plc:wa7b35aakoll7hugkrjtf3xf/net.rhiz.relationship.record/3l3pte3p2e325",
            "attester":"did:plc:eygmaihciaxprqvxpfvl6flk","attestationType":"verify","confidence":90,
            "createdAt":"2024-09-09T19:46:02.102Z"},
            "cid":"bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"}})
    }

    #[test]
    fn the_contract_example_is_an_attestation_create() {
        let event = event_from_jetstream(&example()).unwrap().unwrap();
        assert_eq!(event.kind().as_str(), "attestation.created");
        assert_eq!(
            event.uri().unwrap().as_str(),
            "at://did:plc:eygmaihciaxprqvxpfvl6flk/net.rhiz.relationship.attestation/3l3qo2vuowo2b"
        );
        assert!(event
            .id()
            .as_str()
            .starts_with("jetstream:1725911162329308:"));
    }

    #[test]
    fn other_kinds_and_collections_are_not_rhiz_events() {
        assert!(event_from_jetstream(
            &json!({"did": "did:plc:a", "time_us": 1, "kind": "identity", "identity": {}})
        )
        .unwrap()
        .is_none());
        let mut post = example();
        post["commit"]["collection"] = json!("app.bsky.feed.post");
        assert!(event_from_jetstream(&post).unwrap().is_none());
    }

    #[test]
    fn bad_commits_name_the_field() {
        let mut bad = example();
        bad["commit"]["record"]["confidence"] = json!(300);
        assert_eq!(
            event_from_jetstream(&bad).unwrap_err().field(),
            "commit.record.confidence"
        );
        let mut bad = example();
        bad["commit"]["operation"] = json!("merge");
        assert_eq!(
            event_from_jetstream(&bad).unwrap_err().field(),
            "commit.operation"
        );
        let mut deleted = example();
        deleted["commit"]["operation"] = json!("delete");
        deleted["commit"].as_object_mut().unwrap().remove("record");
        deleted["commit"].as_object_mut().unwrap().remove("cid");
        let event = event_from_jetstream(&deleted).unwrap().unwrap();
        assert_eq!(event.kind().as_str(), "attestation.deleted");
    }
}
