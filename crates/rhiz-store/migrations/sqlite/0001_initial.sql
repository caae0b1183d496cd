-- rhiz store schema, SQLite flavour.
--
-- Timestamps are TEXT in fixed-width RFC 3339 UTC with six fraction digits
-- (2025-10-20T12:00:00.123456Z) so that text order is time order. Identifiers
-- are TEXT in their AT Protocol syntax; handles are stored lowercased.

CREATE TABLE entities (
    did         TEXT    NOT NULL PRIMARY KEY,
    handle      TEXT,
    name        TEXT    NOT NULL,
    entity_type TEXT    NOT NULL,
    bio         TEXT,
    avatar_url  TEXT,
    profile_uri TEXT,
    profile_cid TEXT,
    verified    INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX entities_handle_key ON entities (handle);

CREATE TABLE relationships (
    uri                 TEXT    NOT NULL PRIMARY KEY,
    cid                 TEXT    NOT NULL,
    author              TEXT    NOT NULL,
    rel_type            TEXT    NOT NULL,
    strength            INTEGER NOT NULL CHECK (strength BETWEEN 0 AND 100),
    context             TEXT    NOT NULL,
    visibility          TEXT    NOT NULL,
    allow_discovery     INTEGER NOT NULL CHECK (allow_discovery IN (0, 1)),
    allow_attestation   INTEGER NOT NULL CHECK (allow_attestation IN (0, 1)),
    started_at          TEXT    NOT NULL,
    last_interaction_at TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    indexed_at          TEXT    NOT NULL,
    record              TEXT    NOT NULL CHECK (json_valid(record))
) STRICT;

-- The two participants of each relationship, so that "relationships of a DID"
-- is an index lookup. Kept in step with `relationships` in one transaction.
CREATE TABLE relationship_participants (
    relationship_uri TEXT    NOT NULL REFERENCES relationships (uri) ON DELETE CASCADE,
    did              TEXT    NOT NULL,
    position         INTEGER NOT NULL CHECK (position IN (0, 1)),
    PRIMARY KEY (relationship_uri, position)
) STRICT;

CREATE INDEX relationship_participants_did ON relationship_participants (did, relationship_uri);

-- No foreign key to relationships: attestations outlive the relationship they
-- target (they stop counting but stay stored), and may arrive before it.
CREATE TABLE attestations (
    uri                TEXT    NOT NULL PRIMARY KEY,
    cid                TEXT    NOT NULL,
    attester           TEXT    NOT NULL,
    target_uri         TEXT    NOT NULL,
    attestation_type   TEXT    NOT NULL,
    confidence         INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    evidence           TEXT,
    suggested_strength INTEGER CHECK (suggested_strength BETWEEN 0 AND 100),
    created_at         TEXT    NOT NULL,
    indexed_at         TEXT    NOT NULL,
    record             TEXT    NOT NULL CHECK (json_valid(record))
) STRICT;

CREATE INDEX attestations_target ON attestations (target_uri, created_at DESC, uri DESC);
CREATE INDEX attestations_attester ON attestations (attester);

CREATE TABLE trust_snapshots (
    did                         TEXT    NOT NULL,
    calculated_at               TEXT    NOT NULL,
    trust_score                 INTEGER NOT NULL CHECK (trust_score BETWEEN 0 AND 100),
    reputation                  INTEGER NOT NULL CHECK (reputation BETWEEN 0 AND 100),
    reciprocity                 INTEGER NOT NULL CHECK (reciprocity BETWEEN 0 AND 100),
    consistency                 INTEGER NOT NULL CHECK (consistency BETWEEN 0 AND 100),
    relationship_count          INTEGER NOT NULL CHECK (relationship_count >= 0),
    verified_relationship_count INTEGER NOT NULL CHECK (verified_relationship_count >= 0),
    PRIMARY KEY (did, calculated_at)
) STRICT;

CREATE TABLE state (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
