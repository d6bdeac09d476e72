-- Issue 22: the rules on the hexadecimal ids and tokens, written so that PostgreSQL checks them
-- cheaply. Same values refused (SQLSTATE 23514, check_violation).
--
-- VALUE ~ '^[0-9a-f]{64}$' made PostgreSQL's regular expression engine build states for the
-- positions of the bounded repetition afresh at every match: the id's and the token's checks of a
-- POST /domains insert took about 124,000 instructions together (callgrind of a backend), the
-- 64-character token most of them, more than the rest of the row's rules. A length and an
-- unbounded class, length(VALUE) = 64 AND VALUE ~ '^[0-9a-f]*$', refuse exactly the same values
-- (length counts characters, and the class admits only these 16) at a few thousand. The backend's
-- instructions per POST /domains insert: 470k -> 355k (README "Benchmark", API). acme_orders and
-- certificates had the same rule on their ids as a table CHECK, which PostgreSQL evaluates on
-- every UPDATE of the row, whatever the columns set: each lease, step and release of an order
-- paid it (about 10,000 instructions of a 323,000-instruction UPDATE).
--
-- The rules are checked again over every row, cheap now: per million domains 0.7 s for the ids
-- and 1.0 s for the tokens, where the old rule took 4.0 s for the ids alone (and the same 0.7 s
-- per million orders or certificates).
ALTER DOMAIN domain_row_id DROP CONSTRAINT domain_row_id_check;
ALTER DOMAIN domain_row_id ADD CONSTRAINT domain_row_id_check
    CHECK (length(VALUE) = 32 AND VALUE ~ '^[0-9a-f]*$');
ALTER DOMAIN domain_row_token DROP CONSTRAINT domain_row_token_check;
ALTER DOMAIN domain_row_token ADD CONSTRAINT domain_row_token_check
    CHECK (length(VALUE) = 64 AND VALUE ~ '^[0-9a-f]*$');

ALTER TABLE acme_orders
    DROP CONSTRAINT acme_orders_id_check,
    ADD CONSTRAINT acme_orders_id_check CHECK (length(id) = 32 AND id ~ '^[0-9a-f]*$');
ALTER TABLE certificates
    DROP CONSTRAINT certificates_id_check,
    ADD CONSTRAINT certificates_id_check CHECK (length(id) = 32 AND id ~ '^[0-9a-f]*$');
