-- What the in-memory graph needs of a relationship beyond its plain
-- columns, so that the start-up load reads one table in storage order
-- instead of joining the participants and parsing every record: the
-- participants (also kept in relationship_participants, for lookups by DID),
-- who signed, and the strength history's deviation. NULL in rows written
-- before this migration: readers then fall back to the participants table
-- and the record.
ALTER TABLE relationships ADD COLUMN participant0 TEXT;
ALTER TABLE relationships ADD COLUMN participant1 TEXT;
ALTER TABLE relationships ADD COLUMN signed0 INTEGER CHECK (signed0 IN (0, 1));
ALTER TABLE relationships ADD COLUMN signed1 INTEGER CHECK (signed1 IN (0, 1));
ALTER TABLE relationships ADD COLUMN strength_deviation INTEGER
    CHECK (strength_deviation BETWEEN 0 AND 50);
