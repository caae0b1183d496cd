-- The participant indexes go. Keyed by random DIDs, they were more than
-- half of what writing a relationship cost (the same rows insert at 78,000
-- per second without them, 37,000 with them), and nothing reads by
-- participant any more: the in-memory graph answers "the relationships of
-- a DID" and which entities have any.
DROP INDEX relationships_participant0;
DROP INDEX relationships_participant1;
