-- rhiz store schema, PostgreSQL flavour.
--
-- Identifier columns use the "C" collation so that ordering and keyset paging
-- by URI compare bytes, exactly as SQLite does. Unique constraints are named
-- <table>_<column>_key: the store maps that name back to the conflicting field.

CREATE TABLE entities (
    did         TEXT COLLATE "C" NOT NULL,
    handle      TEXT COLLATE "C",
    name        TEXT        NOT NULL,
    entity_type TEXT        NOT NULL,
    bio         TEXT,
    avatar_url  TEXT,
    profile_uri TEXT COLLATE "C",
    profile_cid TEXT COLLATE "C",
    verified    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT entities_did_key PRIMARY KEY (did)
);

CREATE UNIQUE INDEX entities_handle_key ON entities (handle);

CREATE TABLE relationships (
    uri                 TEXT COLLATE "C" NOT NULL,
    cid                 TEXT COLLATE "C" NOT NULL,
    author              TEXT COLLATE "C" NOT NULL,
    rel_type            TEXT        NOT NULL,
    strength            SMALLINT    NOT NULL CHECK (strength BETWEEN 0 AND 100),
    context             TEXT        NOT NULL,
    visibility          TEXT        NOT NULL,
    allow_discovery     BOOLEAN     NOT NULL,
    allow_attestation   BOOLEAN     NOT NULL,
    started_at          TIMESTAMPTZ NOT NULL,
    last_interaction_at TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    indexed_at          TIMESTAMPTZ NOT NULL,
    record              JSONB       NOT NULL,
    CONSTRAINT relationships_uri_key PRIMARY KEY (uri)
);

-- The two participants of each relationship, so that "relationships of a DID"
-- is an index lookup. Kept in step with `relationships` in one transaction.
CREATE TABLE relationship_participants (
    relationship_uri TEXT COLLATE "C" NOT NULL REFERENCES relationships (uri) ON DELETE CASCADE,
    did              TEXT COLLATE "C" NOT NULL,
    position         SMALLINT NOT NULL CHECK (position IN (0, 1)),
    CONSTRAINT relationship_participants_position_key PRIMARY KEY (relationship_uri, position)
);

CREATE INDEX relationship_participants_did ON relationship_participants (did, relationship_uri);

-- No foreign key to relationships: attestations outlive the relationship they
-- target (they stop counting but stay stored), and may arrive before it.
CREATE TABLE attestations (
    uri                TEXT COLLATE "C" NOT NULL,
    cid                TEXT COLLATE "C" NOT NULL,
    attester           TEXT COLLATE "C" NOT NULL,
    target_uri         TEXT COLLATE "C" NOT NULL,
    attestation_type   TEXT        NOT NULL,
    confidence         SMALLINT    NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    evidence           TEXT,
    suggested_strength SMALLINT    CHECK (suggested_strength BETWEEN 0 AND 100),
    created_at         TIMESTAMPTZ NOT NULL,
    indexed_at         TIMESTAMPTZ NOT NULL,
    record             JSONB       NOT NULL,
    CONSTRAINT attestations_uri_key PRIMARY KEY (uri)
);

CREATE INDEX attestations_target ON attestations (target_uri, created_at DESC, uri DESC);
CREATE INDEX attestations_attester ON attestations (attester);

CREATE TABLE trust_snapshots (
    did                         TEXT COLLATE "C" NOT NULL,
    calculated_at               TIMESTAMPTZ NOT NULL,
    trust_score                 SMALLINT    NOT NULL CHECK (trust_score BETWEEN 0 AND 100),
    reputation                  SMALLINT    NOT NULL CHECK (reputation BETWEEN 0 AND 100),
    reciprocity                 SMALLINT    NOT NULL CHECK (reciprocity BETWEEN 0 AND 100),
    consistency                 SMALLINT    NOT NULL CHECK (consistency BETWEEN 0 AND 100),
    relationship_count          BIGINT      NOT NULL CHECK (relationship_count >= 0),
    verified_relationship_count BIGINT      NOT NULL CHECK (verified_relationship_count >= 0),
    CONSTRAINT trust_snapshots_calculated_at_key PRIMARY KEY (did, calculated_at)
);

CREATE TABLE state (
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT state_key_key PRIMARY KEY (key)
);
