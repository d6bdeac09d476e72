-- The identifier an order's authorization is for, as the order names it ("shop.example", or
-- "*.shop.example" for a wildcard's, RFC 8555 §7.1.4), known when the order is placed. An order
-- nobody will finish gives its authorizations back (RFC 8555 §7.5.2) except those for a name
-- another verified domain's certificate needs: the CA may have reused that authorization in
-- the other domain's order (Let's Encrypt does, for 30 days), which then depends on it without
-- listing it. README "Orders nobody finishes are given back".
-- NULL for rows stored before: the authorization may then be for any name of its order.
ALTER TABLE acme_challenges ADD COLUMN identifier text;
