//! Ingest: outside input turned into validated [`Event`](rhiz_protocol::Event)s, before anything is
//! written to the event log (CONTRACT.md §4.2–4.4).
//!
//! The input is an *ingestion body*: `{event_type, payload, did, priority?,
//! event_id?}`, whose payload carries the legacy flat snake_case fields and,
//! optionally, the whole lexicon `record`. [`parse_ingestion_body`] checks
//! the envelope, builds the record (from `record` when present, which is
//! authoritative, else from the flat fields), validates it against its
//! lexicon and the protocol's cross-field rules, and returns the event.
//!
//! Errors come in the two classes of the contract: [`IngestError::Schema`]
//! (a missing envelope field or a wrong JSON type: 422) and
//! [`IngestError::Invalid`] (a value that breaks a rule: 400). Both name the
//! field.
//!
//! ```
//! use rhiz_server::ingest::parse_ingestion_body;
//! use serde_json::json;
//!
//! let body = json!({
//!     "event_type": "trust.invalidated",
//!     "did": "did:plc:alice",
//!     "payload": {"reason": "key rotated"},
//!     "event_id": "e-1",
//! });
//! let event = parse_ingestion_body(&body, chrono::Utc::now()).unwrap();
//! assert_eq!(event.id().as_str(), "e-1");
//!
//! let bad = json!({"event_type": "relationship.exploded", "did": "did:plc:alice", "payload": {}});
//! let error = parse_ingestion_body(&bad, chrono::Utc::now()).unwrap_err();
//! assert_eq!(error.field(), "event_type");
//! ```

mod envelope;
mod jetstream;
mod payload;

pub use envelope::{parse_ingestion_body, parse_ingestion_json, IngestError};
pub use jetstream::event_from_jetstream;

/// The pipeline submission of a validated event: partitioned by record URI
/// (so one record's events apply in order), or by DID for
/// `trust.invalidated`; in the lane of its priority.
pub fn submission(event: rhiz_protocol::Event) -> rhiz_events::Submission<rhiz_protocol::Event> {
    let key = match event.uri() {
        Some(uri) => uri.to_string(),
        None => event.author().to_string(),
    };
    rhiz_events::Submission {
        id: event.id().as_str().to_owned(),
        key,
        lane: lane_of(event.priority()),
        event_type: event.kind().as_str().to_owned(),
        payload: event,
    }
}

fn lane_of(priority: rhiz_protocol::Priority) -> rhiz_events::Lane {
    use rhiz_events::Lane;
    use rhiz_protocol::Priority;
    match priority {
        Priority::Low => Lane::Low,
        Priority::Normal => Lane::Normal,
        Priority::High => Lane::High,
        Priority::Critical => Lane::Critical,
    }
}

/// The ingestion body of a validated event: what `rhiz import --server`
/// sends. The record travels whole in `payload.record`, which the server
/// treats as authoritative.
pub fn ingestion_body(event: &rhiz_protocol::Event) -> serde_json::Value {
    use rhiz_protocol::EventBody;
    let mut payload = serde_json::Map::new();
    if let Some(uri) = event.uri() {
        payload.insert("uri".to_owned(), uri.as_str().into());
    }
    if let Some(cid) = event.cid() {
        payload.insert("cid".to_owned(), cid.as_str().into());
    }
    if let Some(record) = event.body().record_json() {
        payload.insert("record".to_owned(), record);
    }
    if let EventBody::AttestationCreated(_) | EventBody::AttestationUpdated(_) = event.body() {
        payload.insert("indexed_at".to_owned(), event.source_time().as_str().into());
    }
    if let EventBody::TrustInvalidated {
        reason: Some(reason),
    } = event.body()
    {
        payload.insert("reason".to_owned(), reason.as_str().into());
    }
    serde_json::json!({
        "event_type": event.kind().as_str(),
        "did": event.author().as_str(),
        "priority": event.priority() as u8,
        "event_id": event.id().as_str(),
        "payload": payload,
    })
}
