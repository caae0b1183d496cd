//! Decoding rows into domain types, shared by both backends.
//!
//! A backend only says how to read a column of each primitive kind from its
//! row type ([`Columns`]); turning those into [`Entity`],
//! [`StoredRelationship`], … — and rejecting values that do not parse with a
//! [`StoreError::Corrupt`] naming the column — happens once, here.

use crate::RecordJson;
use chrono::{DateTime, Utc};
use rhiz_protocol::{Did, RelationshipRecord, SyntaxError, Visibility};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::{Result, StoreError};
use crate::model::{
    AttestationEdge, AttestationHead, Entity, EntityCensus, RelationshipEdge, RelationshipHead,
    StoredAttestation, StoredRelationship, TrustSnapshot,
};

/// How to read one column of each primitive kind from a backend's row.
pub(crate) trait Columns {
    /// A non-null text column.
    fn text(&self, column: &'static str) -> Result<String>;
    /// A nullable text column.
    fn opt_text(&self, column: &'static str) -> Result<Option<String>>;
    /// A nullable integer column, of whatever width the schema uses.
    fn opt_int(&self, column: &'static str) -> Result<Option<i64>>;
    /// A boolean column.
    fn flag(&self, column: &'static str) -> Result<bool>;
    /// A timestamp column.
    fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>>;
    /// A JSON column.
    fn json(&self, column: &'static str) -> Result<RecordJson>;
    /// A nullable boolean column.
    fn opt_flag(&self, column: &'static str) -> Result<Option<bool>>;
    /// A nullable JSON column.
    fn opt_json(&self, column: &'static str) -> Result<Option<RecordJson>>;

    /// A non-null integer column.
    fn int(&self, column: &'static str) -> Result<i64> {
        self.opt_int(column)?
            .ok_or_else(|| corrupt(column, "unexpected NULL"))
    }
}

/// A [`StoreError::Corrupt`] for `column`.
pub(crate) fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: reason.to_string(),
    }
}

/// Reads `column` as `T` with the driver's own decoding; any failure (type
/// mismatch, NULL, missing column) is [`StoreError::Corrupt`].
pub(crate) fn get<'r, R, T>(row: &'r R, column: &'static str) -> Result<T>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column).map_err(|err| corrupt(column, err))
}

/// Parses an identifier column.
fn id<T>(row: &impl Columns, column: &'static str) -> Result<T>
where
    T: TryFrom<String, Error = SyntaxError>,
{
    T::try_from(row.text(column)?).map_err(|err| corrupt(column, err))
}

/// Parses a nullable identifier column.
fn opt_id<T>(row: &impl Columns, column: &'static str) -> Result<Option<T>>
where
    T: TryFrom<String, Error = SyntaxError>,
{
    row.opt_text(column)?
        .map(T::try_from)
        .transpose()
        .map_err(|err| corrupt(column, err))
}

/// Reads a 0–100 integer column.
fn percent(row: &impl Columns, column: &'static str) -> Result<u8> {
    to_percent(column, row.int(column)?)
}

fn to_percent(column: &'static str, value: i64) -> Result<u8> {
    u8::try_from(value)
        .ok()
        .filter(|value| *value <= 100)
        .ok_or_else(|| corrupt(column, format!("{value} is not within 0..=100")))
}

/// Reads a non-negative count column.
fn count(row: &impl Columns, column: &'static str) -> Result<u32> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| corrupt(column, format!("{value} is not a u32 count")))
}

/// Decodes a row of entity columns.
pub(crate) fn entity(row: &impl Columns) -> Result<Entity> {
    Ok(Entity {
        did: id(row, "did")?,
        handle: opt_id(row, "handle")?,
        name: row.text("name")?,
        entity_type: row.text("entity_type")?,
        bio: row.opt_text("bio")?,
        avatar_url: row.opt_text("avatar_url")?,
        profile_uri: opt_id(row, "profile_uri")?,
        profile_cid: opt_id(row, "profile_cid")?,
        verified: row.flag("verified")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

/// The graph columns of a relationship row: `signed0`, `signed1` and
/// `strength_deviation`, or, in a row stored before they existed, the same
/// values derived from `record`.
fn graph_columns(row: &impl Columns, record: Option<&RecordJson>) -> Result<([bool; 2], u8)> {
    let signed = [row.opt_flag("signed0")?, row.opt_flag("signed1")?];
    let deviation = row.opt_int("strength_deviation")?;
    if let ([Some(first), Some(second)], Some(deviation)) = (signed, deviation) {
        let deviation = u8::try_from(deviation)
            .ok()
            .filter(|d| *d <= 50)
            .ok_or_else(|| {
                corrupt(
                    "strength_deviation",
                    format!("{deviation} is not within 0..=50"),
                )
            })?;
        return Ok(([first, second], deviation));
    }
    let record = record.ok_or_else(|| corrupt("record", "unexpected NULL"))?;
    let record =
        RelationshipRecord::from_json(&record.to_value()).map_err(|err| corrupt("record", err))?;
    Ok((record.signed(), record.strength_deviation()))
}

/// Decodes a row of relationship edge columns.
pub(crate) fn relationship_edge(row: &impl Columns) -> Result<RelationshipEdge> {
    let (signed, strength_deviation) = graph_columns(row, row.opt_json("record")?.as_ref())?;
    Ok(RelationshipEdge {
        uri: id(row, "uri")?,
        cid: id(row, "cid")?,
        participants: [id(row, "participant0")?, id(row, "participant1")?],
        rel_type: row.text("rel_type")?,
        strength: percent(row, "strength")?,
        discoverable: Visibility::from(row.text("visibility")?).is_public()
            && row.flag("allow_discovery")?,
        last_interaction_at: row.timestamp("last_interaction_at")?,
        signed,
        strength_deviation,
    })
}

/// Decodes a row of [`sql::ENTITY_CENSUS`](crate::sql::ENTITY_CENSUS).
pub(crate) fn census_row(row: &impl Columns) -> Result<(Did, bool)> {
    Ok((id(row, "did")?, row.flag("verified")?))
}

/// The census of the rows of [`sql::ENTITY_CENSUS`](crate::sql::ENTITY_CENSUS).
pub(crate) fn entity_census(rows: Vec<(Did, bool)>) -> EntityCensus {
    let verified = rows.iter().filter(|(_, verified)| *verified).count() as u64;
    EntityCensus {
        dids: rows.into_iter().map(|(did, _)| did).collect(),
        verified,
    }
}

/// Decodes a row of attestation edge columns.
pub(crate) fn attestation_edge(row: &impl Columns) -> Result<AttestationEdge> {
    Ok(AttestationEdge {
        uri: id(row, "uri")?,
        attester: id(row, "attester")?,
        target: id(row, "target_uri")?,
        attestation_type: row.text("attestation_type")?,
        confidence: percent(row, "confidence")?,
        created_at: row.timestamp("created_at")?,
    })
}

/// Decodes a row of relationship columns.
pub(crate) fn relationship(row: &impl Columns) -> Result<StoredRelationship> {
    let mut relationship = StoredRelationship {
        uri: id(row, "uri")?,
        cid: id(row, "cid")?,
        author: id(row, "author")?,
        participants: [id(row, "participant0")?, id(row, "participant1")?],
        rel_type: row.text("rel_type")?,
        strength: percent(row, "strength")?,
        context: row.text("context")?,
        visibility: row.text("visibility")?,
        allow_discovery: row.flag("allow_discovery")?,
        allow_attestation: row.flag("allow_attestation")?,
        started_at: row.timestamp("started_at")?,
        last_interaction_at: row.timestamp("last_interaction_at")?,
        created_at: row.timestamp("created_at")?,
        indexed_at: row.timestamp("indexed_at")?,
        record: row.json("record")?,
        signed: [false; 2],
        strength_deviation: 0,
    };
    (relationship.signed, relationship.strength_deviation) =
        graph_columns(row, Some(&relationship.record))?;
    Ok(relationship)
}

/// Decodes a row of relationship head columns.
pub(crate) fn relationship_head(row: &impl Columns) -> Result<RelationshipHead> {
    Ok(RelationshipHead {
        uri: id(row, "uri")?,
        cid: id(row, "cid")?,
        participants: [id(row, "participant0")?, id(row, "participant1")?],
        allow_attestation: row.flag("allow_attestation")?,
    })
}

/// Decodes a row of attestation head columns.
pub(crate) fn attestation_head(row: &impl Columns) -> Result<AttestationHead> {
    Ok(AttestationHead {
        uri: id(row, "uri")?,
        cid: id(row, "cid")?,
        attester: id(row, "attester")?,
        target: id(row, "target_uri")?,
    })
}

/// Decodes a row of attestation columns.
pub(crate) fn attestation(row: &impl Columns) -> Result<StoredAttestation> {
    Ok(StoredAttestation {
        uri: id(row, "uri")?,
        cid: id(row, "cid")?,
        attester: id(row, "attester")?,
        target: id(row, "target_uri")?,
        attestation_type: row.text("attestation_type")?,
        confidence: percent(row, "confidence")?,
        evidence: row.opt_text("evidence")?,
        suggested_strength: row
            .opt_int("suggested_strength")?
            .map(|value| to_percent("suggested_strength", value))
            .transpose()?,
        created_at: row.timestamp("created_at")?,
        indexed_at: row.timestamp("indexed_at")?,
        record: row.json("record")?,
    })
}

/// Decodes a row of trust snapshot columns.
pub(crate) fn trust_snapshot(row: &impl Columns) -> Result<TrustSnapshot> {
    Ok(TrustSnapshot {
        did: id(row, "did")?,
        trust_score: percent(row, "trust_score")?,
        reputation: percent(row, "reputation")?,
        reciprocity: percent(row, "reciprocity")?,
        consistency: percent(row, "consistency")?,
        relationship_count: count(row, "relationship_count")?,
        verified_relationship_count: count(row, "verified_relationship_count")?,
        calculated_at: row.timestamp("calculated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rejects_out_of_range_values_naming_the_column() {
        assert_eq!(to_percent("strength", 100).unwrap(), 100);
        for bad in [-1, 101, 300] {
            let err = to_percent("strength", bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::Corrupt {
                        column: "strength",
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
}
