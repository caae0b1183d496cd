//! One NDJSON line: an ingestion body of CONTRACT §4.2.

use std::io::{self, Write};

use rhiz_protocol::{AtUri, Cid, Datetime, Did, Event, EventBody, EventError, EventId};
use serde_json::{json, Map, Value};

use crate::cid::content_cid;
use crate::DatasetError;

/// One ingestion body (CONTRACT §4.2): `event_type`, `did`, `priority`,
/// `event_id` and a `payload` with the §4.4 flat snake_case fields plus
/// `record`, the full lexicon record (camelCase, with `$type`).
///
/// It wraps a [`rhiz_protocol::Event`], so it satisfies every rule
/// `Event::for_record` checks (URI in the author's repository, record key,
/// attester = author, author among the participants, …); the record is a
/// typed lexicon record, and its CID is derived from its JSON text.
///
/// Profiles are sent as `entity.profile.updated`, the one event type §4.3
/// has for profile creates and updates.
///
/// ```
/// use rhiz_datasets::IngestionLine;
/// use rhiz_protocol::{EntityProfile, EventBody, Nsid, Record};
/// use serde_json::json;
///
/// let profile = EntityProfile::from_json(&json!({
///     "displayName": "Ada", "entityType": "person", "createdAt": "2024-09-09T19:46:02.102Z"
/// }))?;
/// let line = IngestionLine::new(
///     "example-1".parse()?,
///     "did:plc:eygmaihciaxprqvxpfvl6flk".parse()?,
///     "at://did:plc:eygmaihciaxprqvxpfvl6flk/net.rhiz.entity.profile/self".parse()?,
///     EventBody::updated(Record::from(profile)),
/// )?;
/// let body: serde_json::Value = serde_json::from_str(&line.to_line())?;
/// assert_eq!(body["event_type"], "entity.profile.updated");
/// assert_eq!(body["payload"]["display_name"], "Ada");
/// assert_eq!(body["payload"]["record"]["$type"], "net.rhiz.entity.profile");
/// assert!(body["payload"]["cid"].as_str().unwrap().starts_with("bafyrei"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionLine {
    event: Event,
    /// The record's JSON text, serialized once for the CID and the output.
    record_text: String,
}

impl IngestionLine {
    /// The line for the create or update of a record at `uri`, written by
    /// `author`. The CID is computed from the record; the source time is the
    /// record's `createdAt`; the priority is normal (1).
    ///
    /// Fails when the event breaks a protocol rule, or when `body` carries
    /// no record (deletes and trust invalidations are not dataset lines).
    pub fn new(
        id: EventId,
        author: Did,
        uri: AtUri,
        body: EventBody,
    ) -> Result<Self, DatasetError> {
        Self::with_id_from(author, uri, body, |_, _| Ok(id))
    }

    /// [`new`](Self::new) with an event id computed from the URI and the CID.
    pub(crate) fn with_id_from(
        author: Did,
        uri: AtUri,
        body: EventBody,
        id: impl FnOnce(&AtUri, &Cid) -> Result<EventId, EventError>,
    ) -> Result<Self, DatasetError> {
        let kind = body.kind();
        let (Some(record), Some(created_at)) = (body.record_json(), created_at(&body)) else {
            return Err(EventError::RecordPresence { kind }.into());
        };
        let record_text = record.to_string();
        let cid = content_cid(record_text.as_bytes());
        let id = id(&uri, &cid)?;
        let event = Event::for_record(id, author, uri, Some(cid), body, created_at)?;
        Ok(Self { event, record_text })
    }

    /// The event this line carries.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Gives back the event.
    pub fn into_event(self) -> Event {
        self.event
    }

    /// The record's URI.
    pub fn uri(&self) -> &AtUri {
        self.event
            .uri()
            .unwrap_or_else(|| unreachable!("record events always have a URI"))
    }

    /// The record's CID.
    pub fn cid(&self) -> &Cid {
        self.event
            .cid()
            .unwrap_or_else(|| unreachable!("record creates and updates always have a CID"))
    }

    /// The ingestion body as JSON.
    pub fn to_json(&self) -> Value {
        let mut payload = self.flat_payload();
        payload.insert(
            "record".to_owned(),
            self.event.body().record_json().unwrap_or(Value::Null),
        );
        let mut body = self.envelope();
        body.insert("payload".to_owned(), Value::Object(payload));
        Value::Object(body)
    }

    /// The ingestion body as one line of compact JSON, without the newline.
    /// Same content and key order as [`to_json`](Self::to_json).
    pub fn to_line(&self) -> String {
        let envelope = Value::Object(self.envelope()).to_string();
        let payload = Value::Object(self.flat_payload()).to_string();
        // Both are non-empty objects: splice the payload into the envelope
        // and the record's text into the payload, dropping closing braces.
        let envelope = envelope.strip_suffix('}').unwrap_or(&envelope);
        let payload = payload.strip_suffix('}').unwrap_or(&payload);
        let mut line =
            String::with_capacity(envelope.len() + payload.len() + self.record_text.len() + 24);
        for part in [
            envelope,
            ",\"payload\":",
            payload,
            ",\"record\":",
            &self.record_text,
            "}}",
        ] {
            line.push_str(part);
        }
        line
    }

    /// Writes [`to_line`](Self::to_line) and a newline.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(self.to_line().as_bytes())?;
        out.write_all(b"\n")
    }

    /// `event_type`, `did`, `priority`, `event_id`.
    fn envelope(&self) -> Map<String, Value> {
        let e = &self.event;
        let mut m = Map::new();
        m.insert("event_type".into(), json!(e.kind().as_str()));
        m.insert("did".into(), json!(e.author().as_str()));
        m.insert("priority".into(), json!(e.priority().as_u8()));
        m.insert("event_id".into(), json!(e.id().as_str()));
        m
    }

    /// The §4.4 flat fields of the payload, `record` aside.
    fn flat_payload(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("uri".into(), json!(self.uri().as_str()));
        m.insert("cid".into(), json!(self.cid().as_str()));
        match self.event.body() {
            EventBody::RelationshipCreated(r) | EventBody::RelationshipUpdated(r) => {
                let [a, b] = &r.participants;
                m.insert("participants".into(), json!([a.as_str(), b.as_str()]));
                m.insert("type".into(), json!(r.relationship_type.as_str()));
                m.insert("strength".into(), json!(r.strength.get()));
                m.insert("context".into(), json!(r.context));
                m.insert("created_at".into(), json!(r.created_at.as_str()));
            }
            EventBody::AttestationCreated(a) | EventBody::AttestationUpdated(a) => {
                m.insert("attester_did".into(), json!(a.attester.as_str()));
                m.insert("target_uri".into(), json!(a.target_relationship.as_str()));
                m.insert(
                    "attestation_type".into(),
                    json!(a.attestation_type.as_str()),
                );
                m.insert("confidence".into(), json!(a.confidence.get()));
                if let Some(evidence) = &a.evidence {
                    m.insert("evidence".into(), json!(evidence));
                }
                if let Some(s) = a.suggested_strength {
                    m.insert("suggested_strength".into(), json!(s.get()));
                }
                m.insert("created_at".into(), json!(a.created_at.as_str()));
                // Generated and imported records are "indexed" when written.
                m.insert("indexed_at".into(), json!(a.created_at.as_str()));
            }
            EventBody::EntityProfileCreated(p) | EventBody::EntityProfileUpdated(p) => {
                m.insert("display_name".into(), json!(p.display_name));
                m.insert("entity_type".into(), json!(p.entity_type.as_str()));
                if let Some(bio) = &p.bio {
                    m.insert("bio".into(), json!(bio));
                }
                if let Some(url) = &p.avatar_url {
                    m.insert("avatar_url".into(), json!(url));
                }
                m.insert("created_at".into(), json!(p.created_at.as_str()));
            }
            _ => {}
        }
        m
    }
}

/// The `createdAt` of the record a body carries.
fn created_at(body: &EventBody) -> Option<Datetime> {
    match body {
        EventBody::RelationshipCreated(r) | EventBody::RelationshipUpdated(r) => {
            Some(r.created_at.clone())
        }
        EventBody::AttestationCreated(a) | EventBody::AttestationUpdated(a) => {
            Some(a.created_at.clone())
        }
        EventBody::EntityProfileCreated(p) | EventBody::EntityProfileUpdated(p) => {
            Some(p.created_at.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhiz_protocol::{EntityProfile, Record};

    const ALICE: &str = "did:plc:eygmaihciaxprqvxpfvl6flk";

    fn profile_body() -> EventBody {
        let p = EntityProfile::from_json(&json!({
            "displayName": "Ada \"the\" Analyst", "entityType": "person",
            "bio": "ü", "createdAt": "2024-09-09T19:46:02.102Z"
        }))
        .unwrap();
        EventBody::updated(Record::from(p))
    }

    #[test]
    fn line_text_equals_json_form() {
        let line = IngestionLine::new(
            "e-1".parse().unwrap(),
            ALICE.parse().unwrap(),
            format!("at://{ALICE}/net.rhiz.entity.profile/self")
                .parse()
                .unwrap(),
            profile_body(),
        )
        .unwrap();
        let parsed: Value = serde_json::from_str(&line.to_line()).unwrap();
        assert_eq!(parsed, line.to_json());
        assert_eq!(line.to_json().to_string(), line.to_line());
        let mut out = Vec::new();
        line.write_to(&mut out).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
    }

    #[test]
    fn protocol_rules_are_checked() {
        let err = IngestionLine::new(
            "e-1".parse().unwrap(),
            ALICE.parse().unwrap(),
            "at://did:plc:bob/net.rhiz.entity.profile/self"
                .parse()
                .unwrap(),
            profile_body(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DatasetError::Event(EventError::AuthorMismatch { .. })
        ));
        let err = IngestionLine::new(
            "e-1".parse().unwrap(),
            ALICE.parse().unwrap(),
            format!("at://{ALICE}/net.rhiz.entity.profile/self")
                .parse()
                .unwrap(),
            EventBody::TrustInvalidated { reason: None },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DatasetError::Event(EventError::RecordPresence { .. })
        ));
    }
}
