//! The SQL both backends run.
//!
//! One text per statement: SQLite accepts PostgreSQL's `$N` placeholders, and
//! the schemas give both backends the same tables and columns, so keeping the
//! statements here keeps the two backends' behaviour (ordering, upsert rules)
//! in lockstep. Backends differ only in how they bind values (text vs
//! TIMESTAMPTZ, text vs JSONB) and in locking.

macro_rules! entity_columns {
    () => {
        "did, handle, name, entity_type, bio, avatar_url, profile_uri, profile_cid, \
         verified, created_at, updated_at"
    };
}

macro_rules! select_relationships {
    () => {
        "SELECT r.uri, r.cid, r.author, r.participant0, r.participant1, \
         r.rel_type, r.strength, r.context, r.visibility, r.allow_discovery, \
         r.allow_attestation, r.started_at, r.last_interaction_at, r.created_at, \
         r.indexed_at, r.record, r.signed0, r.signed1, r.strength_deviation \
         FROM relationships r "
    };
}

macro_rules! attestation_columns {
    () => {
        "uri, cid, attester, target_uri, attestation_type, confidence, evidence, \
         suggested_strength, created_at, indexed_at, record"
    };
}

macro_rules! trust_snapshot_columns {
    () => {
        "did, trust_score, reputation, reciprocity, consistency, relationship_count, \
         verified_relationship_count, calculated_at"
    };
}

/// `$1` did, `$2` lowercased handle, `$3` name, `$4` entity_type, `$5` bio,
/// `$6` avatar_url, `$7` profile_uri, `$8` profile_cid, `$9` created_at.
pub(crate) const CREATE_ENTITY: &str = concat!(
    "INSERT INTO entities (",
    entity_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $9) RETURNING ",
    entity_columns!()
);

/// `$1` did.
pub(crate) const GET_ENTITY: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM entities WHERE did = $1"
);

/// `$1` did; locks the row until the transaction ends (PostgreSQL only), so
/// concurrent patches of one entity apply in turn.
pub(crate) const GET_ENTITY_FOR_UPDATE: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM entities WHERE did = $1 FOR UPDATE"
);

/// `$1` an array of DIDs (PostgreSQL only).
pub(crate) const GET_ENTITIES_ANY: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM entities WHERE did = ANY($1)"
);

/// `$1` lowercased handle.
pub(crate) const GET_ENTITY_BY_HANDLE: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM entities WHERE handle = $1"
);

/// `$1` did, `$2` lowercased handle, `$3` name, `$4` bio, `$5` avatar_url,
/// `$6` profile_uri, `$7` profile_cid, `$8` updated_at, `$9` entity_type.
pub(crate) const UPDATE_ENTITY: &str = concat!(
    "UPDATE entities SET handle = $2, name = $3, bio = $4, avatar_url = $5, \
     profile_uri = $6, profile_cid = $7, updated_at = $8, entity_type = $9 \
     WHERE did = $1 RETURNING ",
    entity_columns!()
);

/// `$1` did.
pub(crate) const DELETE_ENTITY: &str = "DELETE FROM entities WHERE did = $1";

/// `$1` uri, `$2` cid, `$3` author, `$4` rel_type, `$5` strength, `$6` context,
/// `$7` visibility, `$8` allow_discovery, `$9` allow_attestation,
/// `$10` started_at, `$11` last_interaction_at, `$12` created_at,
/// `$13` indexed_at, `$14` record, `$15` signed0, `$16` signed1,
/// `$17` strength_deviation, `$18` participant0, `$19` participant1. A
/// repeat replaces every field.
pub(crate) const UPSERT_RELATIONSHIP: &str = "INSERT INTO relationships (uri, cid, author, \
     rel_type, strength, context, visibility, allow_discovery, allow_attestation, started_at, \
     last_interaction_at, created_at, indexed_at, record, signed0, signed1, strength_deviation, \
     participant0, participant1) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19) \
     ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, author = excluded.author, \
     rel_type = excluded.rel_type, strength = excluded.strength, context = excluded.context, \
     visibility = excluded.visibility, allow_discovery = excluded.allow_discovery, \
     allow_attestation = excluded.allow_attestation, started_at = excluded.started_at, \
     last_interaction_at = excluded.last_interaction_at, created_at = excluded.created_at, \
     indexed_at = excluded.indexed_at, record = excluded.record, signed0 = excluded.signed0, \
     signed1 = excluded.signed1, strength_deviation = excluded.strength_deviation, \
     participant0 = excluded.participant0, participant1 = excluded.participant1";

/// `$1` uri.
pub(crate) const GET_RELATIONSHIP: &str = concat!(select_relationships!(), "WHERE r.uri = $1");

/// `$1` uri: the columns of a [`RelationshipHead`](crate::RelationshipHead).
pub(crate) const GET_RELATIONSHIP_HEAD: &str = "SELECT uri, cid, participant0, participant1, \
     allow_attestation FROM relationships WHERE uri = $1";

/// `$1` an array of URIs (PostgreSQL only).
pub(crate) const GET_RELATIONSHIP_HEADS_ANY: &str = "SELECT uri, cid, participant0, \
     participant1, allow_attestation FROM relationships WHERE uri = ANY($1)";

/// `$1` uri.
pub(crate) const DELETE_RELATIONSHIP: &str = "DELETE FROM relationships WHERE uri = $1";

/// `$1` limit.
pub(crate) const LIST_RELATIONSHIPS_FIRST: &str =
    concat!(select_relationships!(), "ORDER BY r.uri LIMIT $1");

/// `$1` exclusive lower bound on uri, `$2` limit.
pub(crate) const LIST_RELATIONSHIPS_AFTER: &str = concat!(
    select_relationships!(),
    "WHERE r.uri > $1 ORDER BY r.uri LIMIT $2"
);

macro_rules! relationship_edges {
    () => {
        "SELECT r.uri, r.cid, r.participant0, r.participant1, r.rel_type, r.strength, \
         r.visibility, r.allow_discovery, r.last_interaction_at, \
         r.signed0, r.signed1, r.strength_deviation, \
         CASE WHEN r.signed0 IS NULL OR r.signed1 IS NULL OR r.strength_deviation IS NULL \
         THEN r.record END AS record \
         FROM relationships r"
    };
}

/// Every relationship as the graph keeps it, in storage order (no sort, no
/// join: one pass over the table). The record is read only for rows stored
/// before the graph columns existed.
pub(crate) const RELATIONSHIP_EDGES: &str = relationship_edges!();

/// [`RELATIONSHIP_EDGES`] of the rows with SQLite rowid in `$1..=$2`, so
/// that several connections can each read a part of the table.
pub(crate) const RELATIONSHIP_EDGES_IN_ROWIDS: &str =
    concat!(relationship_edges!(), " WHERE r.rowid BETWEEN $1 AND $2");

/// The largest SQLite rowid of relationships (NULL when the table is empty).
pub(crate) const MAX_RELATIONSHIP_ROWID: &str = "SELECT max(rowid) AS max_rowid FROM relationships";

/// What [`EntityCensus`](crate::EntityCensus) is made of.
pub(crate) const ENTITY_CENSUS: &str = "SELECT did, verified FROM entities";

/// Every attestation as the graph keeps it, in storage order.
pub(crate) const ATTESTATION_EDGES: &str = "SELECT uri, attester, target_uri, \
     attestation_type, confidence, created_at FROM attestations";

/// `$1` uri, `$2` cid, `$3` attester, `$4` target_uri, `$5` attestation_type,
/// `$6` confidence, `$7` evidence, `$8` suggested_strength, `$9` created_at,
/// `$10` indexed_at, `$11` record. A repeat replaces every field.
pub(crate) const UPSERT_ATTESTATION: &str = concat!(
    "INSERT INTO attestations (",
    attestation_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, attester = excluded.attester, \
     target_uri = excluded.target_uri, attestation_type = excluded.attestation_type, \
     confidence = excluded.confidence, evidence = excluded.evidence, \
     suggested_strength = excluded.suggested_strength, created_at = excluded.created_at, \
     indexed_at = excluded.indexed_at, record = excluded.record"
);

/// `$1` uri.
pub(crate) const GET_ATTESTATION: &str = concat!(
    "SELECT ",
    attestation_columns!(),
    " FROM attestations WHERE uri = $1"
);

/// `$1` uri: the columns of an [`AttestationHead`](crate::AttestationHead).
pub(crate) const GET_ATTESTATION_HEAD: &str =
    "SELECT uri, cid, attester, target_uri FROM attestations WHERE uri = $1";

/// `$1` an array of URIs (PostgreSQL only).
pub(crate) const GET_ATTESTATION_HEADS_ANY: &str =
    "SELECT uri, cid, attester, target_uri FROM attestations WHERE uri = ANY($1)";

/// `$1` uri.
pub(crate) const DELETE_ATTESTATION: &str = "DELETE FROM attestations WHERE uri = $1";

/// `$1` target relationship uri.
pub(crate) const ATTESTATIONS_FOR: &str = concat!(
    "SELECT ",
    attestation_columns!(),
    " FROM attestations WHERE target_uri = $1 ORDER BY created_at DESC, uri DESC"
);

/// `$1` did, `$2` trust_score, `$3` reputation, `$4` reciprocity,
/// `$5` consistency, `$6` relationship_count, `$7` verified_relationship_count,
/// `$8` calculated_at. A repeat for the same (did, calculated_at) replaces it.
pub(crate) const PUT_TRUST_SNAPSHOT: &str = concat!(
    "INSERT INTO trust_snapshots (",
    trust_snapshot_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (did, calculated_at) DO UPDATE SET trust_score = excluded.trust_score, \
     reputation = excluded.reputation, reciprocity = excluded.reciprocity, \
     consistency = excluded.consistency, relationship_count = excluded.relationship_count, \
     verified_relationship_count = excluded.verified_relationship_count"
);

/// `$1` did.
pub(crate) const LATEST_TRUST_SNAPSHOT: &str = concat!(
    "SELECT ",
    trust_snapshot_columns!(),
    " FROM trust_snapshots WHERE did = $1 ORDER BY calculated_at DESC LIMIT 1"
);

/// `$1` key.
pub(crate) const GET_STATE: &str = "SELECT value FROM state WHERE key = $1";

/// `$1` key, `$2` value.
pub(crate) const PUT_STATE: &str = "INSERT INTO state (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// A trivial round trip.
pub(crate) const PING: &str = "SELECT 1";
