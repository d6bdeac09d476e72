-- dnsh-admin retry skips the backoff after failed issuances (README "Operator commands"), never
-- a CA's rate-limit wait (RFC 8555 §6.6: asking sooner only earns another refusal, and may
-- lengthen the limit). issue_retry_at holds whichever is longer, so that wait is kept apart too:
-- issue-certificate's dropped claim sets both. A nullable column without a default: no rewrite.
ALTER TABLE domains
    ADD COLUMN issue_rate_limited_until timestamptz;
