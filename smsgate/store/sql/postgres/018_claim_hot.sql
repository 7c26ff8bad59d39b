-- Version 18 (PostgreSQL): a dispatcher's claim is a HOT update. A claim wrote four index
-- entries a message (its new version in the primary key, messages_account, messages_seq and
-- messages_leased), 25-35 µs of the server's CPU: `queue` went from 'due' to 'leased' and
-- `lease_until` is messages_leased's key. Now a message accepted or queued stays 'due' while
-- claimed (the claim and the dispatchers' other statements tell the claimed ones by
-- `dispatch_token`, which no index names), and messages_leased goes: a claim changes
-- `dispatch_token`, `lease_until` and `status` (accepted to queued), none of them indexed, and
-- `queue` not at all. The claim walks the claimed messages still at the head of messages_due
-- (those in flight, until their SUBMITTED); lease renewal and takeover walk the whole due
-- queue (every third and every half of a lease). Rewrites `messages` once, under an exclusive
-- lock, as version 15 did.
ALTER TABLE messages DROP COLUMN queue;
ALTER TABLE messages ADD COLUMN queue TEXT GENERATED ALWAYS AS (
    CASE WHEN status IN ('accepted', 'queued') THEN 'due'
         WHEN dispatch_token IS NULL AND status = 'scheduled' THEN 'scheduled'
    END) STORED;
CREATE INDEX messages_due ON messages(priority DESC, seq) WHERE queue = 'due';
CREATE INDEX messages_scheduled ON messages(not_before) WHERE queue = 'scheduled'
