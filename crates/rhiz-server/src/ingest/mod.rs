//! Ingest: outside input turned into validated [`Event`]s, before anything is
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
mod payload;

pub use envelope::{parse_ingestion_body, IngestError};
