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
        let (Some(record_text), Some(created_at)) = (body.record_text(), created_at(&body)) else {
            return Err(EventError::RecordPresence { kind }.into());
        };
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
        let e = &self.event;
        let mut payload: Map<String, Value> = self
            .flat_payload()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_json()))
            .collect();
        payload.insert(
            "record".to_owned(),
            e.body().record_json().unwrap_or(Value::Null),
        );
        json!({
            "event_type": e.kind().as_str(),
            "did": e.author().as_str(),
            "priority": e.priority().as_u8(),
            "event_id": e.id().as_str(),
            "payload": payload,
        })
    }

    /// The ingestion body as one line of compact JSON, without the newline:
    /// the JSON of [`to_json`](Self::to_json), its keys in the contract's
    /// order, written directly.
    pub fn to_line(&self) -> String {
        let e = &self.event;
        let mut line = String::with_capacity(self.record_text.len() * 2 + 256);
        line.push_str("{\"event_type\":");
        push_json_str(&mut line, e.kind().as_str());
        line.push_str(",\"did\":");
        push_json_str(&mut line, e.author().as_str());
        line.push_str(",\"priority\":");
        line.push_str(&e.priority().as_u8().to_string());
        line.push_str(",\"event_id\":");
        push_json_str(&mut line, e.id().as_str());
        line.push_str(",\"payload\":{");
        for (key, value) in self.flat_payload() {
            push_json_str(&mut line, key);
            line.push(':');
            value.push_to(&mut line);
            line.push(',');
        }
        line.push_str("\"record\":");
        line.push_str(&self.record_text);
        line.push_str("}}");
        line
    }

    /// Writes [`to_line`](Self::to_line) and a newline.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(self.to_line().as_bytes())?;
        out.write_all(b"\n")
    }

    /// The §4.4 flat fields of the payload, `record` aside, in order.
    fn flat_payload(&self) -> Vec<(&'static str, Flat<'_>)> {
        use Flat::{Int, Pair, Str};
        let mut m = Vec::with_capacity(10);
        m.push(("uri", Str(self.uri().as_str())));
        m.push(("cid", Str(self.cid().as_str())));
        match self.event.body() {
            EventBody::RelationshipCreated(r) | EventBody::RelationshipUpdated(r) => {
                let [a, b] = &r.participants;
                m.push(("participants", Pair(a.as_str(), b.as_str())));
                m.push(("type", Str(r.relationship_type.as_str())));
                m.push(("strength", Int(r.strength.get())));
                m.push(("context", Str(&r.context)));
                m.push(("created_at", Str(r.created_at.as_str())));
            }
            EventBody::AttestationCreated(a) | EventBody::AttestationUpdated(a) => {
                m.push(("attester_did", Str(a.attester.as_str())));
                m.push(("target_uri", Str(a.target_relationship.as_str())));
                m.push(("attestation_type", Str(a.attestation_type.as_str())));
                m.push(("confidence", Int(a.confidence.get())));
                if let Some(evidence) = &a.evidence {
                    m.push(("evidence", Str(evidence)));
                }
                if let Some(s) = a.suggested_strength {
                    m.push(("suggested_strength", Int(s.get())));
                }
                m.push(("created_at", Str(a.created_at.as_str())));
                // Generated and imported records are "indexed" when written.
                m.push(("indexed_at", Str(a.created_at.as_str())));
            }
            EventBody::EntityProfileCreated(p) | EventBody::EntityProfileUpdated(p) => {
                m.push(("display_name", Str(&p.display_name)));
                m.push(("entity_type", Str(p.entity_type.as_str())));
                if let Some(bio) = &p.bio {
                    m.push(("bio", Str(bio)));
                }
                if let Some(url) = &p.avatar_url {
                    m.push(("avatar_url", Str(url)));
                }
                m.push(("created_at", Str(p.created_at.as_str())));
            }
            _ => {}
        }
        m
    }
}

/// A flat payload value.
#[derive(Debug, Clone, Copy)]
enum Flat<'a> {
    /// A string.
    Str(&'a str),
    /// An integer from 0 to 255.
    Int(u8),
    /// Two strings.
    Pair(&'a str, &'a str),
}

impl Flat<'_> {
    fn to_json(self) -> Value {
        match self {
            Self::Str(s) => json!(s),
            Self::Int(n) => json!(n),
            Self::Pair(a, b) => json!([a, b]),
        }
    }

    fn push_to(self, out: &mut String) {
        match self {
            Self::Str(s) => push_json_str(out, s),
            Self::Int(n) => out.push_str(&n.to_string()),
            Self::Pair(a, b) => {
                out.push('[');
                push_json_str(out, a);
                out.push(',');
                push_json_str(out, b);
                out.push(']');
            }
        }
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    // Every byte that needs escaping is ASCII, so slicing at it is safe.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
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
            "bio": "ü\\ \n\t\r\u{1}\u{8}\u{c}\u{1f}\u{7f}/é", "createdAt": "2024-09-09T19:46:02.102Z"
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
        let text = line.to_line();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, line.to_json());
        assert!(text.starts_with(
            r#"{"event_type":"entity.profile.updated","did":"did:plc:eygmaihciaxprqvxpfvl6flk","priority":1,"event_id":"e-1","payload":{"uri":"#
        ));
        let mut out = Vec::new();
        line.write_to(&mut out).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
    }

    proptest::proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_does(s in "\\PC*|[\\x00-\\x7f]*") {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
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
