-- POST /domains with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header-06, README
-- "API"): a client whose answer was lost (a timeout, lighttpd's 502, the 503 of a connection lost
-- after the commit, README "Database access") sends the request again with the same key and gets
-- the registration back, its verification token included, where it got 409 and no way to learn
-- the token (no view shows it). The key is stored with the row it registered and lives as long
-- as the row (the expiry policy the draft's §2.3 asks for): a DELETE frees it with the name.
-- NULL for rows registered without one, and for every row from before this migration.
--
-- As in 021_domain_value_types.sql, the rule is a domain type's, checked on the values an INSERT
-- or UPDATE assigns (a table CHECK is planned again at every statement), and the type is made
-- empty first: ADD COLUMN of a type with constraints can rewrite the whole table to check them
-- against the new column's NULLs. The rule, added NOT VALID, then holds every new value; every
-- row already there has NULL, which it lets pass. The same rule as the handler's
-- (shared/http/idempotency_key.hpp): 1-255 characters, printable ASCII, as a length and an
-- unbounded class (023_hex_rules.sql: a bounded repetition costs PostgreSQL's regular expression
-- engine far more).
CREATE DOMAIN domain_row_idempotency_key AS text;
ALTER TABLE domains ADD COLUMN idempotency_key domain_row_idempotency_key;
ALTER DOMAIN domain_row_idempotency_key ADD CONSTRAINT domain_row_idempotency_key_check
    CHECK (length(VALUE) BETWEEN 1 AND 255 AND VALUE ~ '^[ -~]*$') NOT VALID;

-- One row per key: a retry that runs into it is the same request again (answered with that row)
-- or the key reused (422). Partial: rows without a key, most of them, have no entry (an insert
-- without one only tests the predicate). Built in this migration's transaction, which holds
-- writes to domains until it is done: one pass over the table, with nothing to add (every key is
-- NULL).
CREATE UNIQUE INDEX domains_idempotency_key_idx ON domains (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
