-- Version 2: who holds a callback's lease. A message's callbacks go out in the order of its
-- events across nodes (rules.order_claim): a later one waits while an earlier one is leased
-- by another notifier, not while this notifier holds it (it keeps its own requests in order).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
