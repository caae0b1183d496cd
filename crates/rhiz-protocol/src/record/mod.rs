//! The Rhiz lexicon records rhiz indexes, validated from their JSON.
//!
//! Each record type has `from_json`, which checks every lexicon rule and
//! names the offending field on failure, and `to_json`, which gives back the
//! lexicon JSON with `$type` set and every unknown key preserved, so that
//! `from_json(&r.to_json()) == Ok(r)`. Their serde implementations go through
//! the same two functions.
//!
//! Optional fields that are `null` count as absent. `knownValues` strings
//! are open enums (an `Other` variant keeps unknown values); `enum` strings
//! are closed.

mod attestation;
mod error;
mod profile;
mod relationship;
pub(crate) mod validate;

use std::fmt;

use serde_json::Value;

pub use attestation::{Attestation, AttestationType, Stake, TargetField};
pub use error::{RecordError, RecordErrorKind};
pub use profile::{EntityProfile, EntityType};
pub use relationship::{
    AttestationSummary, Consent, Privacy, RelationshipRecord, RelationshipType, Signature,
    StrengthPoint, Temporal, Trend, Verification, VerifierSummary, Visibility,
};
pub use validate::{json_get, Json};

use crate::Nsid;

/// The collections that have a record type here, in [`Record`] order.
pub const COLLECTIONS: &[&str] = &[
    EntityProfile::NSID,
    RelationshipRecord::NSID,
    Attestation::NSID,
];

/// An integer from 0 to 100: strengths, scores, confidences.
///
/// ```
/// use rhiz_protocol::Percent;
///
/// assert_eq!(Percent::new(85).map(Percent::get), Some(85));
/// assert_eq!(Percent::new(101), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Percent(u8);

impl Percent {
    /// The largest value, 100.
    pub const MAX: Percent = Percent(100);

    /// `Some` when `value` is at most 100.
    pub const fn new(value: u8) -> Option<Self> {
        if value <= 100 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The value, from 0 to 100.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Percent {
    type Error = RecordError;

    /// Accepts 0–100; the error has an empty path.
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        u8::try_from(value).ok().and_then(Self::new).ok_or_else(|| {
            RecordError::new(
                "",
                RecordErrorKind::OutOfRange {
                    min: 0,
                    max: Some(100),
                },
            )
        })
    }
}

impl From<Percent> for u8 {
    fn from(p: Percent) -> u8 {
        p.0
    }
}

impl From<Percent> for Value {
    fn from(p: Percent) -> Value {
        Value::from(p.0)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(deserializer)?;
        Self::try_from(n).map_err(serde::de::Error::custom)
    }
}

/// Any record rhiz indexes, chosen by its collection.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "records are built once per event and moved a few times; boxing would cost an allocation each"
)]
pub enum Record {
    /// A `net.rhiz.entity.profile` record.
    EntityProfile(EntityProfile),
    /// A `net.rhiz.relationship.record` record.
    Relationship(RelationshipRecord),
    /// A `net.rhiz.relationship.attestation` record.
    Attestation(Attestation),
}

impl Record {
    /// Validates `value` as a record of `collection`.
    ///
    /// A collection without a record type here is an error naming it.
    ///
    /// ```
    /// use rhiz_protocol::{Nsid, Record};
    /// use serde_json::json;
    ///
    /// let collection: Nsid = "net.rhiz.entity.profile".parse().unwrap();
    /// let record = Record::from_json_for(
    ///     &collection,
    ///     &json!({"displayName": "Ada", "entityType": "person", "createdAt": "2024-09-09T19:46:02.102Z"}),
    /// )
    /// .unwrap();
    /// assert_eq!(record.collection(), "net.rhiz.entity.profile");
    ///
    /// let other: Nsid = "app.bsky.feed.post".parse().unwrap();
    /// let err = Record::from_json_for(&other, &json!({})).unwrap_err();
    /// assert!(err.to_string().contains("app.bsky.feed.post"));
    /// ```
    pub fn from_json_for(collection: &Nsid, value: &Value) -> Result<Self, RecordError> {
        Self::from_json_ref_for(collection, &Json::from(value))
    }

    /// [`Record::from_json_for`] over borrowed [`Json`].
    pub fn from_json_ref_for(collection: &Nsid, value: &Json<'_>) -> Result<Self, RecordError> {
        match collection.as_str() {
            EntityProfile::NSID => EntityProfile::from_json_ref(value).map(Self::EntityProfile),
            RelationshipRecord::NSID => {
                RelationshipRecord::from_json_ref(value).map(Self::Relationship)
            }
            Attestation::NSID => Attestation::from_json_ref(value).map(Self::Attestation),
            other => Err(RecordError::new(
                "",
                RecordErrorKind::UnknownCollection {
                    collection: other.to_owned(),
                },
            )),
        }
    }

    /// The lexicon JSON of the record, `$type` included.
    pub fn to_json(&self) -> Value {
        match self {
            Self::EntityProfile(r) => r.to_json(),
            Self::Relationship(r) => r.to_json(),
            Self::Attestation(r) => r.to_json(),
        }
    }

    /// The NSID of the record's collection.
    pub fn collection(&self) -> &'static str {
        match self {
            Self::EntityProfile(_) => EntityProfile::NSID,
            Self::Relationship(_) => RelationshipRecord::NSID,
            Self::Attestation(_) => Attestation::NSID,
        }
    }
}

impl From<EntityProfile> for Record {
    fn from(r: EntityProfile) -> Self {
        Self::EntityProfile(r)
    }
}

impl From<RelationshipRecord> for Record {
    fn from(r: RelationshipRecord) -> Self {
        Self::Relationship(r)
    }
}

impl From<Attestation> for Record {
    fn from(r: Attestation) -> Self {
        Self::Attestation(r)
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatches_on_collection() {
        let nsid = |s: &str| s.parse::<Nsid>().unwrap();
        let profile = test_support::profile_json();
        let rel = test_support::relationship_json_a();
        let att = test_support::attestation_json();
        assert!(matches!(
            Record::from_json_for(&nsid(EntityProfile::NSID), &profile),
            Ok(Record::EntityProfile(_))
        ));
        assert!(matches!(
            Record::from_json_for(&nsid(RelationshipRecord::NSID), &rel),
            Ok(Record::Relationship(_))
        ));
        assert!(matches!(
            Record::from_json_for(&nsid(Attestation::NSID), &att),
            Ok(Record::Attestation(_))
        ));
        // The right JSON for the wrong collection fails on that collection's rules.
        assert!(Record::from_json_for(&nsid(Attestation::NSID), &profile).is_err());
    }

    #[test]
    fn unknown_collection_is_named() {
        let nsid: Nsid = "net.rhiz.trust.metrics".parse().unwrap();
        let e = Record::from_json_for(&nsid, &json!({})).unwrap_err();
        assert_eq!(
            e.kind(),
            &RecordErrorKind::UnknownCollection {
                collection: "net.rhiz.trust.metrics".into()
            }
        );
        assert!(e.to_string().contains("\"net.rhiz.trust.metrics\""), "{e}");
        assert!(e.to_string().contains("net.rhiz.entity.profile"), "{e}");
    }

    #[test]
    fn record_round_trips_and_reports_collection() {
        let r = Record::from(
            RelationshipRecord::from_json(&test_support::relationship_json_b()).unwrap(),
        );
        assert_eq!(r.collection(), RelationshipRecord::NSID);
        assert_eq!(r.to_json()["$type"], json!(RelationshipRecord::NSID));
    }

    #[test]
    fn percent_bounds() {
        assert_eq!(Percent::try_from(100).map(Percent::get), Ok(100));
        assert!(Percent::try_from(101).is_err());
        assert!(Percent::try_from(-1).is_err());
        assert_eq!(serde_json::from_str::<Percent>("42").unwrap().get(), 42);
        assert!(serde_json::from_str::<Percent>("142").is_err());
    }
}
