-- dnsh_certificates_long_lived{expires_within="7d"} (alert DnshCertificateExpiringWithin7Days):
-- the newest certificates whose lifetime (notAfter - notBefore) is over 21 days. Renewal comes a
-- third of the lifetime before expiry (RENEW_BEFORE's default), so only these are renewed before
-- their last 7 days; a "shortlived" certificate (160 hours) spends its whole life there. A range
-- scan over this index counts them without reading the rows of the short-lived ones near expiry
-- (certificates_newest_expiry_idx alone would fetch each to read issued_at). The predicate is
-- immutable (timestamptz - timestamptz, interval comparison); the query repeats it word for word.
CREATE INDEX certificates_newest_long_lived_expiry_idx ON certificates (expires_at)
    WHERE superseded_at IS NULL AND expires_at - issued_at > interval '21 days';
