-- The relationship row carries everything the in-memory graph needs, so
-- that the start-up load reads one table in storage order, with no join and
-- no record parsing: both participants (which replace the
-- relationship_participants table: two indexes on the row answer "the
-- relationships of a DID", and a write touches fewer B-trees), who signed,
-- and the strength history's deviation. signed0, signed1 and
-- strength_deviation are NULL in rows written before this migration:
-- readers then derive them from the record.
ALTER TABLE relationships ADD COLUMN participant0 TEXT;
ALTER TABLE relationships ADD COLUMN participant1 TEXT;
ALTER TABLE relationships ADD COLUMN signed0 INTEGER CHECK (signed0 IN (0, 1));
ALTER TABLE relationships ADD COLUMN signed1 INTEGER CHECK (signed1 IN (0, 1));
ALTER TABLE relationships ADD COLUMN strength_deviation INTEGER
    CHECK (strength_deviation BETWEEN 0 AND 50);

UPDATE relationships SET
    participant0 = (SELECT p.did FROM relationship_participants p
                    WHERE p.relationship_uri = relationships.uri AND p.position = 0),
    participant1 = (SELECT p.did FROM relationship_participants p
                    WHERE p.relationship_uri = relationships.uri AND p.position = 1);
DROP TABLE relationship_participants;

CREATE INDEX relationships_participant0 ON relationships (participant0);
CREATE INDEX relationships_participant1 ON relationships (participant1);
