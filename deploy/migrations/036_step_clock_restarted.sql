-- await_dns restarts the step's clock for the CA's part once a renewal's customer published after
-- POLL_TIMEOUT (step_await_dns.cpp). At most once per step: set by that restart, cleared when
-- the step changes (OrderStore::setStep), so a look that timed out later (which ends as a DNS
-- poll too) cannot restart it again and keep a CA that stays down from failing the order.
-- A constant default: no rewrite of the table.
ALTER TABLE acme_orders
    ADD COLUMN step_clock_restarted boolean NOT NULL DEFAULT false;
