//! The [`Event`] every write in rhiz becomes: one validated change to one
//! record (or one trust invalidation), ready for the durable log.
//!
//! Illegal combinations are unrepresentable or rejected at construction:
//! the [`EventBody`] fixes the kind and carries the typed record for creates
//! and updates, and [`Event::for_record`] checks the protocol's cross-field
//! rules. Deserializing an event runs the same checks.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::{Attestation, EntityProfile, Record, RecordError, RelationshipRecord};
use crate::{AtUri, Cid, Datetime, Did, Nsid, Tid};

/// What went wrong building or reading an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// An event kind that does not exist.
    #[error("unknown event type {input:?}: expected one of {}", EventKind::ALL.map(EventKind::as_str).join(", "))]
    UnknownKind {
        /// The rejected text.
        input: String,
    },
    /// A priority outside 0–3.
    #[error("priority must be an integer from 0 to 3, got {value}")]
    PriorityOutOfRange {
        /// The rejected value.
        value: i64,
    },
    /// An event id that is empty, too long or not printable ASCII.
    #[error("invalid event id {input:?}: {rule}")]
    InvalidId {
        /// The rejected id.
        input: String,
        /// The rule it broke.
        rule: &'static str,
    },
    /// The URI does not name a record of the collection the event is about.
    #[error("a {kind} event needs an at://<did>/{}/<rkey> URI, got {uri}", kind.collection().unwrap_or("-"))]
    CollectionMismatch {
        /// The event's kind.
        kind: EventKind,
        /// The URI given.
        uri: AtUri,
    },
    /// The URI's authority is not the author: records live in their author's repository.
    #[error("the URI {uri} is not in the repository of the author {author}")]
    AuthorMismatch {
        /// The event's author.
        author: Did,
        /// The URI given.
        uri: AtUri,
    },
    /// The URI's record key is not the kind the collection uses.
    #[error("the record key of {uri} must be {expected}")]
    BadRecordKey {
        /// The URI given.
        uri: AtUri,
        /// What the key must be (`"self"`, `"a TID"`).
        expected: &'static str,
    },
    /// A create or update without the record's CID.
    #[error("a {kind} event needs the record's CID")]
    MissingCid {
        /// The event's kind.
        kind: EventKind,
    },
    /// A record event without a URI, or a `trust.invalidated` event with one.
    #[error("a {kind} event {}", if kind.collection().is_some() { "needs the record's URI" } else { "carries no URI" })]
    UriPresence {
        /// The event's kind.
        kind: EventKind,
    },
    /// A create or update without its record, or a delete or invalidation with one.
    #[error("a {kind} event {}", if kind.carries_record() { "needs the record" } else { "carries no record" })]
    RecordPresence {
        /// The event's kind.
        kind: EventKind,
    },
    /// [`Event::for_record`] was given a `trust.invalidated` body.
    #[error("trust.invalidated is not a record event: use Event::trust_invalidated")]
    NotARecordEvent,
    /// An attestation whose `attester` is not its author.
    #[error("the attester {attester} is not the author {author} of the attestation")]
    AttesterNotAuthor {
        /// The record's `attester`.
        attester: Did,
        /// The event's author.
        author: Did,
    },
    /// An attestation whose `targetRelationship` does not name a relationship record.
    #[error("the attestation target {target} is not a net.rhiz.relationship.record URI")]
    TargetNotRelationship {
        /// The record's `targetRelationship`.
        target: AtUri,
    },
    /// A relationship whose author is not one of its participants.
    #[error("the author {author} is not a participant of the relationship")]
    AuthorNotParticipant {
        /// The event's author.
        author: Did,
    },
    /// The record does not satisfy its lexicon.
    #[error("invalid record: {0}")]
    Record(#[from] RecordError),
}

/// The idempotency key of an event: 1–128 characters of printable ASCII
/// (`' '` to `'~'`).
///
/// ```
/// use rhiz_protocol::EventId;
///
/// let id: EventId = "4b1d7c9e-0f3a-4c2e-9d51-6a8f0e2b7c11".parse().unwrap();
/// assert_eq!(id.as_str().len(), 36);
/// assert!("".parse::<EventId>().is_err());
/// assert!("évènement".parse::<EventId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// Most characters of an id.
    pub const MAX_LEN: usize = 128;

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(s: &str) -> Result<(), &'static str> {
        if s.is_empty() {
            Err("must not be empty")
        } else if s.len() > Self::MAX_LEN {
            Err("must be at most 128 characters")
        } else if !s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            Err("must be printable ASCII")
        } else {
            Ok(())
        }
    }
}

impl FromStr for EventId {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s.to_owned())
    }
}

impl TryFrom<String> for EventId {
    type Error = EventError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match Self::check(&s) {
            Ok(()) => Ok(Self(s)),
            Err(rule) => Err(EventError::InvalidId { input: s, rule }),
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What an event does. The wire names are those of CONTRACT §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `relationship.created`
    RelationshipCreated,
    /// `relationship.updated`
    RelationshipUpdated,
    /// `relationship.deleted`
    RelationshipDeleted,
    /// `attestation.created`
    AttestationCreated,
    /// `attestation.updated`
    AttestationUpdated,
    /// `attestation.deleted`
    AttestationDeleted,
    /// `entity.profile.created`
    EntityProfileCreated,
    /// `entity.profile.updated`
    EntityProfileUpdated,
    /// `entity.profile.deleted`
    EntityProfileDeleted,
    /// `trust.invalidated`: drop a DID's cached trust metrics.
    TrustInvalidated,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 10] = [
        Self::RelationshipCreated,
        Self::RelationshipUpdated,
        Self::RelationshipDeleted,
        Self::AttestationCreated,
        Self::AttestationUpdated,
        Self::AttestationDeleted,
        Self::EntityProfileCreated,
        Self::EntityProfileUpdated,
        Self::EntityProfileDeleted,
        Self::TrustInvalidated,
    ];

    /// The wire name, e.g. `relationship.created`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RelationshipCreated => "relationship.created",
            Self::RelationshipUpdated => "relationship.updated",
            Self::RelationshipDeleted => "relationship.deleted",
            Self::AttestationCreated => "attestation.created",
            Self::AttestationUpdated => "attestation.updated",
            Self::AttestationDeleted => "attestation.deleted",
            Self::EntityProfileCreated => "entity.profile.created",
            Self::EntityProfileUpdated => "entity.profile.updated",
            Self::EntityProfileDeleted => "entity.profile.deleted",
            Self::TrustInvalidated => "trust.invalidated",
        }
    }

    /// The collection of the records this kind is about; `None` for `trust.invalidated`.
    pub const fn collection(self) -> Option<&'static str> {
        match self {
            Self::RelationshipCreated | Self::RelationshipUpdated | Self::RelationshipDeleted => {
                Some(RelationshipRecord::NSID)
            }
            Self::AttestationCreated | Self::AttestationUpdated | Self::AttestationDeleted => {
                Some(Attestation::NSID)
            }
            Self::EntityProfileCreated
            | Self::EntityProfileUpdated
            | Self::EntityProfileDeleted => Some(EntityProfile::NSID),
            Self::TrustInvalidated => None,
        }
    }

    /// Whether this kind deletes a record.
    pub const fn is_delete(self) -> bool {
        matches!(
            self,
            Self::RelationshipDeleted | Self::AttestationDeleted | Self::EntityProfileDeleted
        )
    }

    /// Whether events of this kind carry a record (creates and updates).
    pub const fn carries_record(self) -> bool {
        self.collection().is_some() && !self.is_delete()
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = EventError;

    /// Parses a wire name; the error lists the allowed ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EventError::UnknownKind {
                input: s.to_owned(),
            })
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How urgently an event is applied: higher lanes are dequeued first.
/// Serialized as its integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// 0: dequeued last.
    Low = 0,
    /// 1: the default.
    #[default]
    Normal = 1,
    /// 2.
    High = 2,
    /// 3: dequeued first.
    Critical = 3,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Critical];

    /// The integer, 0–3.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<i64> for Priority {
    type Error = EventError;

    /// Accepts 0–3.
    ///
    /// ```
    /// use rhiz_protocol::Priority;
    ///
    /// assert_eq!(Priority::try_from(3), Ok(Priority::Critical));
    /// assert!(Priority::try_from(4).is_err());
    /// ```
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        usize::try_from(value)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .ok_or(EventError::PriorityOutOfRange { value })
    }
}

impl Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.as_u8())
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(i64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What an event carries: the validated record for creates and updates,
/// nothing for deletes, an optional reason for a trust invalidation.
/// The variant is the event's [`EventKind`].
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "records are built once per event and moved a few times; boxing would cost an allocation each"
)]
pub enum EventBody {
    /// A relationship was created.
    RelationshipCreated(RelationshipRecord),
    /// A relationship was updated.
    RelationshipUpdated(RelationshipRecord),
    /// A relationship was deleted.
    RelationshipDeleted,
    /// An attestation was created.
    AttestationCreated(Attestation),
    /// An attestation was updated.
    AttestationUpdated(Attestation),
    /// An attestation was deleted.
    AttestationDeleted,
    /// A profile was created.
    EntityProfileCreated(EntityProfile),
    /// A profile was updated.
    EntityProfileUpdated(EntityProfile),
    /// A profile was deleted.
    EntityProfileDeleted,
    /// A DID's trust metrics must be recomputed.
    TrustInvalidated {
        /// Why, for the logs.
        reason: Option<String>,
    },
}

impl EventBody {
    /// The body of a create of `record`.
    pub fn created(record: Record) -> Self {
        match record {
            Record::Relationship(r) => Self::RelationshipCreated(r),
            Record::Attestation(r) => Self::AttestationCreated(r),
            Record::EntityProfile(r) => Self::EntityProfileCreated(r),
        }
    }

    /// The body of an update to `record`.
    pub fn updated(record: Record) -> Self {
        match record {
            Record::Relationship(r) => Self::RelationshipUpdated(r),
            Record::Attestation(r) => Self::AttestationUpdated(r),
            Record::EntityProfile(r) => Self::EntityProfileUpdated(r),
        }
    }

    /// The body of a delete of a record of `collection`; an unknown
    /// collection is an error naming it.
    pub fn deleted(collection: &Nsid) -> Result<Self, EventError> {
        match collection.as_str() {
            RelationshipRecord::NSID => Ok(Self::RelationshipDeleted),
            Attestation::NSID => Ok(Self::AttestationDeleted),
            EntityProfile::NSID => Ok(Self::EntityProfileDeleted),
            other => Err(RecordError::new(
                "",
                crate::record::RecordErrorKind::UnknownCollection {
                    collection: other.to_owned(),
                },
            )
            .into()),
        }
    }

    /// The kind of event this body makes.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::RelationshipCreated(_) => EventKind::RelationshipCreated,
            Self::RelationshipUpdated(_) => EventKind::RelationshipUpdated,
            Self::RelationshipDeleted => EventKind::RelationshipDeleted,
            Self::AttestationCreated(_) => EventKind::AttestationCreated,
            Self::AttestationUpdated(_) => EventKind::AttestationUpdated,
            Self::AttestationDeleted => EventKind::AttestationDeleted,
            Self::EntityProfileCreated(_) => EventKind::EntityProfileCreated,
            Self::EntityProfileUpdated(_) => EventKind::EntityProfileUpdated,
            Self::EntityProfileDeleted => EventKind::EntityProfileDeleted,
            Self::TrustInvalidated { .. } => EventKind::TrustInvalidated,
        }
    }

    /// The record of a create or update, as lexicon JSON.
    pub fn record_json(&self) -> Option<Value> {
        self.record_out()
            .map(|record| serde_json::to_value(record).expect("a record serializes to JSON"))
    }

    /// The record of a create or update as compact JSON text, its keys in
    /// the lexicon's order (a [`Value`] orders them by name).
    pub fn record_text(&self) -> Option<String> {
        self.record_out()
            .map(|record| serde_json::to_string(&record).expect("a record serializes to JSON"))
    }

    /// The record of a create or update, borrowed for serializing.
    fn record_out(&self) -> Option<RecordOut<'_>> {
        match self {
            Self::RelationshipCreated(r) | Self::RelationshipUpdated(r) => {
                Some(RecordOut::Relationship(r))
            }
            Self::AttestationCreated(r) | Self::AttestationUpdated(r) => {
                Some(RecordOut::Attestation(r))
            }
            Self::EntityProfileCreated(r) | Self::EntityProfileUpdated(r) => {
                Some(RecordOut::EntityProfile(r))
            }
            _ => None,
        }
    }

    /// The record of a create or update.
    pub fn into_record(self) -> Option<Record> {
        match self {
            Self::RelationshipCreated(r) | Self::RelationshipUpdated(r) => Some(r.into()),
            Self::AttestationCreated(r) | Self::AttestationUpdated(r) => Some(r.into()),
            Self::EntityProfileCreated(r) | Self::EntityProfileUpdated(r) => Some(r.into()),
            _ => None,
        }
    }

    /// Rebuilds a body from its kind and, for creates and updates, the record JSON.
    fn from_parts(
        kind: EventKind,
        record: Option<&Value>,
        reason: Option<String>,
    ) -> Result<Self, EventError> {
        if kind.carries_record() != record.is_some() {
            return Err(EventError::RecordPresence { kind });
        }
        let record = record.unwrap_or(&Value::Null);
        Ok(match kind {
            EventKind::RelationshipCreated => {
                Self::RelationshipCreated(RelationshipRecord::from_json(record)?)
            }
            EventKind::RelationshipUpdated => {
                Self::RelationshipUpdated(RelationshipRecord::from_json(record)?)
            }
            EventKind::RelationshipDeleted => Self::RelationshipDeleted,
            EventKind::AttestationCreated => {
                Self::AttestationCreated(Attestation::from_json(record)?)
            }
            EventKind::AttestationUpdated => {
                Self::AttestationUpdated(Attestation::from_json(record)?)
            }
            EventKind::AttestationDeleted => Self::AttestationDeleted,
            EventKind::EntityProfileCreated => {
                Self::EntityProfileCreated(EntityProfile::from_json(record)?)
            }
            EventKind::EntityProfileUpdated => {
                Self::EntityProfileUpdated(EntityProfile::from_json(record)?)
            }
            EventKind::EntityProfileDeleted => Self::EntityProfileDeleted,
            EventKind::TrustInvalidated => Self::TrustInvalidated { reason },
        })
    }
}

/// One change rhiz applies: a record created, updated or deleted in its
/// author's repository, or a DID's trust metrics invalidated.
///
/// Built by [`Event::for_record`] or [`Event::trust_invalidated`], so every
/// `Event` satisfies the protocol's cross-field rules. Serializes (for the
/// durable log) as a flat JSON object: `id`, `kind`, `uri`, `cid`, `author`,
/// `priority`, `source_time`, `record`, `reason`, the absent ones omitted.
///
/// ```
/// use rhiz_protocol::{Attestation, Event, EventBody, EventKind, Priority};
/// use serde_json::json;
///
/// let record = Attestation::from_json(&json!({
///     "targetRelationship": "at://did:plc:wa7b35aakoll7hugkrjtf3xf/net.rhiz.relationship.record/3l3pte3p2e325",
///     "attester": "did:plc:eygmaihciaxprqvxpfvl6flk",
///     "attestationType": "verify",
///     "confidence": 90,
///     "createdAt": "2024-09-09T19:46:02.102Z"
/// }))
/// .unwrap();
/// let event = Event::for_record(
///     "evt-1".parse().unwrap(),
///     "did:plc:eygmaihciaxprqvxpfvl6flk".parse().unwrap(),
///     "at://did:plc:eygmaihciaxprqvxpfvl6flk/net.rhiz.relationship.attestation/3l3qo2vuowo2b".parse().unwrap(),
///     Some("bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi".parse().unwrap()),
///     EventBody::AttestationCreated(record),
///     "2024-09-09T19:46:02.329Z".parse().unwrap(),
/// )
/// .unwrap()
/// .with_priority(Priority::High);
/// assert_eq!(event.kind(), EventKind::AttestationCreated);
///
/// let line = serde_json::to_string(&event).unwrap();
/// assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    id: EventId,
    author: Did,
    uri: Option<AtUri>,
    cid: Option<Cid>,
    priority: Priority,
    source_time: Datetime,
    body: EventBody,
    record_text: RecordText,
}

/// The JSON text of an event's record, written the first time it is asked
/// for ([`Event::record_raw`]) and shared by every later use: the event
/// log's payload and the store's row each serialized the record otherwise.
/// Not part of the event's value: it never takes part in equality.
#[derive(Clone, Default)]
struct RecordText(OnceLock<Option<Box<RawValue>>>);

impl PartialEq for RecordText {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for RecordText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordText")
    }
}

impl Event {
    /// An event about the record at `uri`, written by `author`.
    ///
    /// Checks the protocol's rules that need no storage: the URI names a
    /// record of the body's collection in the author's repository, with the
    /// record key that collection uses (`self` for profiles, a TID
    /// otherwise); creates and updates carry a CID; an attestation's
    /// `attester` is its author and its target is a relationship record's
    /// URI; a relationship's author is a participant.
    /// Deletes may carry a CID or not. Priority starts at [`Priority::Normal`].
    pub fn for_record(
        id: EventId,
        author: Did,
        uri: AtUri,
        cid: Option<Cid>,
        body: EventBody,
        source_time: Datetime,
    ) -> Result<Self, EventError> {
        let kind = body.kind();
        let Some(collection) = kind.collection() else {
            return Err(EventError::NotARecordEvent);
        };
        if uri.collection_str() != Some(collection) {
            return Err(EventError::CollectionMismatch { kind, uri });
        }
        if uri.authority() != author.as_str() {
            return Err(EventError::AuthorMismatch { author, uri });
        }
        let rkey = uri.rkey_str().unwrap_or_default();
        let rkey_ok = if collection == EntityProfile::NSID {
            rkey == "self"
        } else {
            rkey.parse::<Tid>().is_ok()
        };
        if !rkey_ok {
            let expected = if collection == EntityProfile::NSID {
                "\"self\""
            } else {
                "a TID"
            };
            return Err(EventError::BadRecordKey { uri, expected });
        }
        if kind.carries_record() && cid.is_none() {
            return Err(EventError::MissingCid { kind });
        }
        match &body {
            EventBody::AttestationCreated(a) | EventBody::AttestationUpdated(a)
                if a.attester != author =>
            {
                return Err(EventError::AttesterNotAuthor {
                    attester: a.attester.clone(),
                    author,
                });
            }
            EventBody::AttestationCreated(a) | EventBody::AttestationUpdated(a)
                if a.target_relationship.collection_str() != Some(RelationshipRecord::NSID)
                    || a.target_relationship.rkey_str().is_none() =>
            {
                return Err(EventError::TargetNotRelationship {
                    target: a.target_relationship.clone(),
                });
            }
            EventBody::RelationshipCreated(r) | EventBody::RelationshipUpdated(r)
                if !r.has_participant(&author) =>
            {
                return Err(EventError::AuthorNotParticipant { author });
            }
            _ => {}
        }
        Ok(Self {
            id,
            author,
            uri: Some(uri),
            cid,
            priority: Priority::default(),
            source_time,
            body,
            record_text: RecordText::default(),
        })
    }

    /// A request to recompute the trust metrics of `did`. Priority starts at
    /// [`Priority::Normal`].
    pub fn trust_invalidated(
        id: EventId,
        did: Did,
        reason: Option<String>,
        source_time: Datetime,
    ) -> Self {
        Self {
            id,
            author: did,
            uri: None,
            cid: None,
            priority: Priority::default(),
            source_time,
            body: EventBody::TrustInvalidated { reason },
            record_text: RecordText::default(),
        }
    }

    /// The same event with another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The record of a create or update as compact JSON text, its keys in
    /// the lexicon's order ([`EventBody::record_text`]), serialized once
    /// per event however often it is asked for.
    pub fn record_raw(&self) -> Option<&RawValue> {
        self.record_text
            .0
            .get_or_init(|| {
                self.body.record_out().map(|record| {
                    serde_json::value::to_raw_value(&record).expect("a record serializes to JSON")
                })
            })
            .as_deref()
    }

    /// The idempotency key.
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// What the event does.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// The DID that caused the event: the record's repository owner, or the
    /// DID whose trust is invalidated.
    pub fn author(&self) -> &Did {
        &self.author
    }

    /// The record's AT-URI; `None` exactly for `trust.invalidated`.
    pub fn uri(&self) -> Option<&AtUri> {
        self.uri.as_ref()
    }

    /// The record's CID; always present for creates and updates.
    pub fn cid(&self) -> Option<&Cid> {
        self.cid.as_ref()
    }

    /// The lane the event goes in.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// When the change happened at its source (commit time, request time).
    pub fn source_time(&self) -> &Datetime {
        &self.source_time
    }

    /// The payload.
    pub fn body(&self) -> &EventBody {
        &self.body
    }

    /// Gives back the payload.
    pub fn into_body(self) -> EventBody {
        self.body
    }
}

/// The flat wire form of an event, borrowed for serializing.
#[derive(Serialize)]
struct WireOut<'a> {
    id: &'a EventId,
    kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a AtUri>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<&'a Cid>,
    author: &'a Did,
    priority: Priority,
    source_time: &'a Datetime,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// A record borrowed for serializing: its lexicon JSON, written directly.
#[derive(Serialize)]
#[serde(untagged)]
enum RecordOut<'a> {
    Relationship(&'a RelationshipRecord),
    Attestation(&'a Attestation),
    EntityProfile(&'a EntityProfile),
}

/// The flat wire form of an event, owned for deserializing.
#[derive(Deserialize)]
struct WireIn {
    id: EventId,
    kind: EventKind,
    #[serde(default)]
    uri: Option<AtUri>,
    #[serde(default)]
    cid: Option<Cid>,
    author: Did,
    #[serde(default)]
    priority: Priority,
    source_time: Datetime,
    #[serde(default)]
    record: Option<Value>,
    #[serde(default)]
    reason: Option<String>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reason = match &self.body {
            EventBody::TrustInvalidated { reason } => reason.as_deref(),
            _ => None,
        };
        WireOut {
            id: &self.id,
            kind: self.kind(),
            uri: self.uri.as_ref(),
            cid: self.cid.as_ref(),
            author: &self.author,
            priority: self.priority,
            source_time: &self.source_time,
            record: self.record_raw(),
            reason,
        }
        .serialize(serializer)
    }
}

impl TryFrom<WireIn> for Event {
    type Error = EventError;

    fn try_from(w: WireIn) -> Result<Self, Self::Error> {
        let body = EventBody::from_parts(w.kind, w.record.as_ref(), w.reason)?;
        let event = match (w.kind, w.uri) {
            (EventKind::TrustInvalidated, None) => {
                Self::trust_invalidated(w.id, w.author, body_reason(body), w.source_time)
            }
            (kind @ EventKind::TrustInvalidated, Some(_)) | (kind, None) => {
                return Err(EventError::UriPresence { kind });
            }
            (_, Some(uri)) => Self::for_record(w.id, w.author, uri, w.cid, body, w.source_time)?,
        };
        Ok(event.with_priority(w.priority))
    }
}

fn body_reason(body: EventBody) -> Option<String> {
    match body {
        EventBody::TrustInvalidated { reason } => reason,
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(WireIn::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{
        arb_attestation, arb_profile, arb_relationship, attestation_json, profile_json,
        relationship_json_a, ALICE, BOB, CAROL,
    };
    use proptest::prelude::*;
    use serde_json::json;

    const CID: &str = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi";
    const TIME: &str = "2024-09-09T19:46:02.329Z";

    fn rel_uri(did: &str) -> AtUri {
        format!("at://{did}/net.rhiz.relationship.record/3l3pte3p2e325")
            .parse()
            .unwrap()
    }
    fn att_uri(did: &str) -> AtUri {
        format!("at://{did}/net.rhiz.relationship.attestation/3l3qo2vuowo2b")
            .parse()
            .unwrap()
    }
    fn profile_uri(did: &str) -> AtUri {
        format!("at://{did}/net.rhiz.entity.profile/self")
            .parse()
            .unwrap()
    }
    fn did(s: &str) -> Did {
        s.parse().unwrap()
    }
    fn id() -> EventId {
        "evt-1".parse().unwrap()
    }
    fn cid() -> Option<Cid> {
        Some(CID.parse().unwrap())
    }
    fn time() -> Datetime {
        TIME.parse().unwrap()
    }
    fn relationship() -> RelationshipRecord {
        RelationshipRecord::from_json(&relationship_json_a()).unwrap()
    }
    fn attestation() -> Attestation {
        Attestation::from_json(&attestation_json()).unwrap() // attester CAROL
    }

    #[test]
    fn kind_wire_names_round_trip() {
        let names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "relationship.created",
                "relationship.updated",
                "relationship.deleted",
                "attestation.created",
                "attestation.updated",
                "attestation.deleted",
                "entity.profile.created",
                "entity.profile.updated",
                "entity.profile.deleted",
                "trust.invalidated",
            ]
        );
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
        let e = "relationship.create".parse::<EventKind>().unwrap_err();
        let text = e.to_string();
        assert!(text.contains("\"relationship.create\""), "{text}");
        assert!(
            text.contains("relationship.created") && text.contains("trust.invalidated"),
            "{text}"
        );
    }

    #[test]
    fn priority_from_integer() {
        assert_eq!(Priority::default(), Priority::Normal);
        for (n, p) in [
            (0, Priority::Low),
            (1, Priority::Normal),
            (2, Priority::High),
            (3, Priority::Critical),
        ] {
            assert_eq!(Priority::try_from(n), Ok(p));
            assert_eq!(i64::from(p.as_u8()), n);
        }
        for n in [-1, 4, i64::MAX] {
            assert_eq!(
                Priority::try_from(n),
                Err(EventError::PriorityOutOfRange { value: n })
            );
        }
        assert_eq!(
            Priority::try_from(4).unwrap_err().to_string(),
            "priority must be an integer from 0 to 3, got 4"
        );
        assert!(Priority::Critical > Priority::High && Priority::Low < Priority::Normal);
        assert!(serde_json::from_str::<Priority>("7").is_err());
    }

    #[test]
    fn event_id_rules() {
        for ok in [
            "a",
            "4b1d7c9e-0f3a-4c2e-9d51-6a8f0e2b7c11",
            "with space ~!",
            &"x".repeat(128),
        ] {
            assert!(ok.parse::<EventId>().is_ok(), "{ok:?}");
        }
        for (bad, rule) in [
            ("", "must not be empty"),
            (&*"x".repeat(129), "must be at most 128 characters"),
            ("tab\there", "must be printable ASCII"),
            ("naïve", "must be printable ASCII"),
            ("line\n", "must be printable ASCII"),
        ] {
            match bad.parse::<EventId>() {
                Err(EventError::InvalidId { rule: r, .. }) => assert_eq!(r, rule, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(serde_json::from_str::<EventId>("\"\"").is_err());
    }

    #[test]
    fn valid_record_events() {
        let e = Event::for_record(
            id(),
            did(ALICE),
            rel_uri(ALICE),
            cid(),
            EventBody::RelationshipCreated(relationship()),
            time(),
        )
        .unwrap();
        assert_eq!(
            (e.kind(), e.priority()),
            (EventKind::RelationshipCreated, Priority::Normal)
        );
        assert_eq!(e.uri(), Some(&rel_uri(ALICE)));
        // The other participant may author it too.
        assert!(Event::for_record(
            id(),
            did(BOB),
            rel_uri(BOB),
            cid(),
            EventBody::RelationshipUpdated(relationship()),
            time()
        )
        .is_ok());
        assert!(Event::for_record(
            id(),
            did(CAROL),
            att_uri(CAROL),
            cid(),
            EventBody::AttestationCreated(attestation()),
            time()
        )
        .is_ok());
        let profile = EntityProfile::from_json(&profile_json()).unwrap();
        assert!(Event::for_record(
            id(),
            did(ALICE),
            profile_uri(ALICE),
            cid(),
            EventBody::EntityProfileUpdated(profile),
            time()
        )
        .is_ok());
        // Deletes need no CID.
        let d = Event::for_record(
            id(),
            did(ALICE),
            rel_uri(ALICE),
            None,
            EventBody::RelationshipDeleted,
            time(),
        )
        .unwrap();
        assert_eq!((d.kind(), d.cid()), (EventKind::RelationshipDeleted, None));
    }

    #[test]
    fn cross_field_rules() {
        let rel = || EventBody::RelationshipCreated(relationship());
        assert_eq!(
            Event::for_record(id(), did(ALICE), att_uri(ALICE), cid(), rel(), time()),
            Err(EventError::CollectionMismatch {
                kind: EventKind::RelationshipCreated,
                uri: att_uri(ALICE)
            })
        );
        assert_eq!(
            Event::for_record(id(), did(ALICE), rel_uri(BOB), cid(), rel(), time()),
            Err(EventError::AuthorMismatch {
                author: did(ALICE),
                uri: rel_uri(BOB)
            })
        );
        assert_eq!(
            Event::for_record(id(), did(ALICE), rel_uri(ALICE), None, rel(), time()),
            Err(EventError::MissingCid {
                kind: EventKind::RelationshipCreated
            })
        );
        assert_eq!(
            Event::for_record(id(), did(CAROL), rel_uri(CAROL), cid(), rel(), time()),
            Err(EventError::AuthorNotParticipant { author: did(CAROL) })
        );
        assert_eq!(
            Event::for_record(
                id(),
                did(BOB),
                att_uri(BOB),
                cid(),
                EventBody::AttestationCreated(attestation()),
                time()
            ),
            Err(EventError::AttesterNotAuthor {
                attester: did(CAROL),
                author: did(BOB)
            })
        );
        let mut wrong_target = attestation();
        wrong_target.target_relationship = profile_uri(ALICE);
        assert_eq!(
            Event::for_record(
                id(),
                did(CAROL),
                att_uri(CAROL),
                cid(),
                EventBody::AttestationCreated(wrong_target),
                time()
            ),
            Err(EventError::TargetNotRelationship {
                target: profile_uri(ALICE)
            })
        );
        let not_self: AtUri = format!("at://{ALICE}/net.rhiz.entity.profile/3l3pte3p2e325")
            .parse()
            .unwrap();
        assert!(matches!(
            Event::for_record(
                id(),
                did(ALICE),
                not_self,
                None,
                EventBody::EntityProfileDeleted,
                time()
            ),
            Err(EventError::BadRecordKey {
                expected: "\"self\"",
                ..
            })
        ));
        let not_tid: AtUri = format!("at://{ALICE}/net.rhiz.relationship.record/self")
            .parse()
            .unwrap();
        assert!(matches!(
            Event::for_record(
                id(),
                did(ALICE),
                not_tid,
                None,
                EventBody::RelationshipDeleted,
                time()
            ),
            Err(EventError::BadRecordKey {
                expected: "a TID",
                ..
            })
        ));
        assert_eq!(
            Event::for_record(
                id(),
                did(ALICE),
                rel_uri(ALICE),
                None,
                EventBody::TrustInvalidated { reason: None },
                time()
            ),
            Err(EventError::NotARecordEvent)
        );
        let text = Event::for_record(id(), did(ALICE), att_uri(ALICE), cid(), rel(), time())
            .unwrap_err()
            .to_string();
        assert!(text.contains("net.rhiz.relationship.record"), "{text}");
    }

    #[test]
    fn body_constructors_pick_the_kind() {
        assert_eq!(
            EventBody::created(relationship().into()).kind(),
            EventKind::RelationshipCreated
        );
        assert_eq!(
            EventBody::updated(attestation().into()).kind(),
            EventKind::AttestationUpdated
        );
        let nsid = |s: &str| s.parse::<Nsid>().unwrap();
        assert_eq!(
            EventBody::deleted(&nsid(EntityProfile::NSID)),
            Ok(EventBody::EntityProfileDeleted)
        );
        let e = EventBody::deleted(&nsid("app.bsky.feed.post")).unwrap_err();
        assert!(e.to_string().contains("app.bsky.feed.post"), "{e}");
        assert_eq!(EventBody::RelationshipDeleted.into_record(), None);
    }

    #[test]
    fn wire_form_is_flat_and_validated() {
        let e = Event::for_record(
            id(),
            did(CAROL),
            att_uri(CAROL),
            cid(),
            EventBody::AttestationCreated(attestation()),
            time(),
        )
        .unwrap()
        .with_priority(Priority::Critical);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], json!("attestation.created"));
        assert_eq!(v["priority"], json!(3));
        assert_eq!(v["record"]["$type"], json!(Attestation::NSID));
        assert!(v.get("reason").is_none());
        assert_eq!(serde_json::from_value::<Event>(v.clone()).unwrap(), e);

        let mut bad = v.clone();
        bad["record"]["confidence"] = json!(300);
        let err = serde_json::from_value::<Event>(bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("confidence: must be an integer from 0 to 100"),
            "{err}"
        );
        let mut bad = v.clone();
        bad.as_object_mut().unwrap().remove("record");
        assert!(serde_json::from_value::<Event>(bad)
            .unwrap_err()
            .to_string()
            .contains("needs the record"));
        let mut bad = v.clone();
        bad["kind"] = json!("attestation.deleted");
        assert!(serde_json::from_value::<Event>(bad)
            .unwrap_err()
            .to_string()
            .contains("carries no record"));
        let mut bad = v;
        bad["author"] = json!(ALICE);
        assert!(serde_json::from_value::<Event>(bad).is_err());

        let t =
            Event::trust_invalidated(id(), did(BOB), Some("attestation removed".into()), time());
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v,
            json!({"id": "evt-1", "kind": "trust.invalidated", "author": BOB, "priority": 1, "source_time": TIME, "reason": "attestation removed"})
        );
        assert_eq!(serde_json::from_value::<Event>(v.clone()).unwrap(), t);
        let mut bad = v;
        bad["uri"] = json!(rel_uri(BOB).as_str());
        assert!(serde_json::from_value::<Event>(bad)
            .unwrap_err()
            .to_string()
            .contains("carries no URI"));
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        let prio = prop::sample::select(&Priority::ALL[..]);
        let ev_id = "[ -~]{1,128}".prop_map(|s| s.parse::<EventId>().unwrap());
        let rel = arb_relationship().prop_map(|r| {
            let author = r.participants[0].clone();
            let uri = rel_uri(author.as_str());
            (author, uri, EventBody::RelationshipCreated(r))
        });
        let att = arb_attestation().prop_map(|a| {
            let author = a.attester.clone();
            let uri = att_uri(author.as_str());
            (author, uri, EventBody::AttestationUpdated(a))
        });
        let profile = arb_profile().prop_map(|p| {
            (
                did(ALICE),
                profile_uri(ALICE),
                EventBody::EntityProfileCreated(p),
            )
        });
        let delete = Just((did(BOB), rel_uri(BOB), EventBody::RelationshipDeleted));
        let record_event = (
            prop_oneof![rel, att, profile, delete],
            ev_id.clone(),
            prio.clone(),
        )
            .prop_map(|((author, uri, body), ev_id, prio)| {
                let cid = if body.kind().is_delete() { None } else { cid() };
                Event::for_record(ev_id, author, uri, cid, body, time())
                    .unwrap()
                    .with_priority(prio)
            });
        let trust = (ev_id, prio, prop::option::of(".{0,20}")).prop_map(|(ev_id, prio, reason)| {
            Event::trust_invalidated(ev_id, did(CAROL), reason, time()).with_priority(prio)
        });
        prop_oneof![4 => record_event, 1 => trust]
    }

    proptest! {
        #[test]
        fn json_round_trip(e in arb_event()) {
            let text = serde_json::to_string(&e).unwrap();
            prop_assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), e);
        }

        /// The record's text is made once, is the body's record text, and
        /// is what the wire form carries.
        #[test]
        fn record_raw_is_the_record_text_made_once(e in arb_event()) {
            let first = e.record_raw().map(|raw| raw as *const RawValue);
            prop_assert_eq!(first, e.record_raw().map(|raw| raw as *const RawValue));
            let text = e.body().record_text();
            prop_assert_eq!(e.record_raw().map(RawValue::get), text.as_deref());
            let wire: Value = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            prop_assert_eq!(wire.get("record").cloned(), e.body().record_json());
        }
    }
}
