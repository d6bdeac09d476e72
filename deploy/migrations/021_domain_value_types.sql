-- The rules on the values of a domains row, moved from CHECK constraints on the table to domain
-- types on its columns. Same rules, same values refused (SQLSTATE 23514, check_violation); what
-- changes is their cost. PostgreSQL turns every CHECK constraint of a table back from its stored
-- text into an expression, and plans it, at the start of each INSERT or UPDATE statement, and an
-- UPDATE checks all of them whatever columns it sets; a domain type's constraints are read once
-- per session (the type cache), and an UPDATE checks only the values it assigns. Backend CPU per
-- statement on copies of domains (pgbench, prepared): an INSERT 223 -> 190 us, an UPDATE of two
-- columns 161 -> 91 us (README "Benchmark", API).
--
-- The types are made empty first, so that changing the columns to them rewrites neither the table
-- nor its indexes; their rules are then added NOT VALID: every row already there was held to the
-- very same rules by the CHECK constraints this drops, and checking them again would keep the
-- table locked (this migration is one transaction) for about 17 s per million domains (the
-- regular expressions). New and changed values are checked all the same.
CREATE DOMAIN domain_row_id AS text;
CREATE DOMAIN domain_row_name AS text;
CREATE DOMAIN domain_row_token AS text;
CREATE DOMAIN domain_row_status AS text;
CREATE DOMAIN domain_row_delegation_status AS text;
CREATE DOMAIN domain_row_validation_method AS text;

-- domain_view_source (migration 010 and later) reads domains.id, and a column a view reads
-- cannot change its type: the view is dropped and made again from its own definition.
DO $$
DECLARE
    view_definition text := pg_get_viewdef('domain_view_source'::regclass);
BEGIN
    DROP VIEW domain_view_source;
    ALTER TABLE domains
        DROP CONSTRAINT domains_id_check,
        DROP CONSTRAINT domains_domain_name_check,
        DROP CONSTRAINT domains_verification_token_check,
        DROP CONSTRAINT domains_status_check,
        DROP CONSTRAINT domains_delegation_status_check,
        DROP CONSTRAINT domains_validation_method_check,
        ALTER COLUMN id TYPE domain_row_id,
        ALTER COLUMN domain_name TYPE domain_row_name,
        ALTER COLUMN verification_token TYPE domain_row_token,
        ALTER COLUMN status TYPE domain_row_status,
        ALTER COLUMN delegation_status TYPE domain_row_delegation_status,
        ALTER COLUMN validation_method TYPE domain_row_validation_method;
    EXECUTE 'CREATE VIEW domain_view_source AS ' || view_definition;
END
$$;

-- The rules of migrations 001, 004 and 018, word for word. (status <> 'verified' OR verified_at
-- IS NOT NULL) spans two columns and stays a CHECK on the table.
ALTER DOMAIN domain_row_id ADD CONSTRAINT domain_row_id_check
    CHECK (VALUE ~ '^[0-9a-f]{32}$') NOT VALID;
ALTER DOMAIN domain_row_name ADD CONSTRAINT domain_row_name_check
    CHECK (VALUE = lower(VALUE) AND length(VALUE) BETWEEN 3 AND 253) NOT VALID;
ALTER DOMAIN domain_row_token ADD CONSTRAINT domain_row_token_check
    CHECK (VALUE ~ '^[0-9a-f]{64}$') NOT VALID;
ALTER DOMAIN domain_row_status ADD CONSTRAINT domain_row_status_check
    CHECK (VALUE IN ('pending', 'verified', 'certificate_pending', 'active', 'failed')) NOT VALID;
ALTER DOMAIN domain_row_delegation_status ADD CONSTRAINT domain_row_delegation_status_check
    CHECK (VALUE IN ('not_seen', 'active', 'lost')) NOT VALID;
ALTER DOMAIN domain_row_validation_method ADD CONSTRAINT domain_row_validation_method_check
    CHECK (VALUE IN ('dns-01', 'cname', 'dns-persist-01')) NOT VALID;
