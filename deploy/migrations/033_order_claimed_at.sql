-- POST /domains/{id}/check while a worker runs the order's DNS lookup (README "API"): that lookup
-- may have started before the customer published, so the check is remembered
-- (dns_check_requested_at) and OrderStore::release makes the order due at once, not a
-- POLL_INTERVAL later, when it came after the claim. claimed_at is when the current (or last)
-- lease was taken (OrderStore::claimDue). A nullable column without a default: no rewrite.
ALTER TABLE acme_orders
    ADD COLUMN claimed_at timestamptz;
