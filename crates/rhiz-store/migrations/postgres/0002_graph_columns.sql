-- What the in-memory graph needs of a relationship beyond its plain
-- columns, so that the start-up load reads one table in storage order
-- instead of joining the participants and parsing every record: the
-- participants (also kept in relationship_participants, for lookups by DID),
-- who signed, and the strength history's deviation. NULL in rows written
-- before this migration: readers then fall back to the participants table
-- and the record.
ALTER TABLE relationships
    ADD COLUMN participant0 TEXT COLLATE "C",
    ADD COLUMN participant1 TEXT COLLATE "C",
    ADD COLUMN signed0 BOOLEAN,
    ADD COLUMN signed1 BOOLEAN,
    ADD COLUMN strength_deviation SMALLINT CHECK (strength_deviation BETWEEN 0 AND 50);
