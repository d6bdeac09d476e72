-- The domain view joins each domain to its current certificate, the one row not superseded
-- (certificates_mark_newest keeps it so since 007): a unique index makes that a plain join of
-- at most one row, where an ordered LATERAL probe with LIMIT had to be set up on every read.
CREATE UNIQUE INDEX certificates_current_idx ON certificates (domain_id)
    WHERE superseded_at IS NULL;
