//! AT Protocol syntax, Rhiz lexicon records and the [`Event`] type rhiz moves.
//!
//! Everything here is pure: no async, no I/O. Identifiers exist only through
//! parsing, so a value of type [`Did`] is always a syntactically valid DID.
//!
//! ```
//! use rhiz_protocol::{AtUri, Did};
//!
//! let did: Did = "did:plc:eygmaihciaxprqvxpfvl6flk".parse().unwrap();
//! assert_eq!(did.method(), "plc");
//!
//! let err = "did:PLC:abc".parse::<Did>().unwrap_err();
//! assert!(err.to_string().contains("method"));
//!
//! let uri: AtUri = "at://did:plc:eygmaihciaxprqvxpfvl6flk/net.rhiz.relationship.record/3l3pte3p2e325"
//!     .parse()
//!     .unwrap();
//! assert_eq!(uri.collection_str(), Some("net.rhiz.relationship.record"));
//! ```

mod error;
mod event;
mod record;
mod syntax;

pub use error::{ProtocolError, SyntaxError};
pub use event::{Event, EventBody, EventError, EventId, EventKind, Priority};
pub use record::{
    json_get, Attestation, AttestationSummary, AttestationType, Consent, EntityProfile, EntityType,
    Json, Percent, Privacy, Record, RecordError, RecordErrorKind, RelationshipRecord,
    RelationshipType, Signature, Stake, StrengthPoint, TargetField, Temporal, Trend, Verification,
    VerifierSummary, Visibility, COLLECTIONS,
};
pub use syntax::{AtUri, Cid, Datetime, Did, Handle, Nsid, RecordKey, Tid};
