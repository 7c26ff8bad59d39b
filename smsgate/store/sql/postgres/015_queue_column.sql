-- Version 15 (PostgreSQL): the dispatchers' three partial indexes select on `queue`, a stored
-- column generated from status and dispatch_token, not on those two. PostgreSQL makes an
-- update HOT (no index entry written, the new version on the old one's page) only when no
-- column an index names, in its key or its condition, changes; status and dispatch_token
-- were in these indexes' conditions, so each of a message's three updates (claim, SUBMITTED,
-- DELIVERED) wrote an entry in every index of messages. A receipt's DELIVERED (or another
-- final state) moves the message from one status outside every queue to another: `queue`
-- stays NULL and the carrier id stays, so it changes no indexed column and is HOT where its
-- page has room. The claim and the SUBMITTED still change `queue` (and the SUBMITTED the
-- carrier id): not HOT, as before. Adding the column rewrites the table once, under an
-- exclusive lock.
ALTER TABLE messages ADD COLUMN queue TEXT GENERATED ALWAYS AS (
    CASE WHEN dispatch_token IS NULL AND status IN ('accepted', 'queued') THEN 'due'
         WHEN dispatch_token IS NULL AND status = 'scheduled' THEN 'scheduled'
         WHEN dispatch_token IS NOT NULL AND status = 'queued' THEN 'leased'
    END) STORED;
DROP INDEX messages_due;
DROP INDEX messages_scheduled;
DROP INDEX messages_leased;
CREATE INDEX messages_due ON messages(priority DESC, seq) WHERE queue = 'due';
CREATE INDEX messages_scheduled ON messages(not_before) WHERE queue = 'scheduled';
CREATE INDEX messages_leased ON messages(lease_until) WHERE queue = 'leased';
-- Room on each page for a receipt's new version of a row: an insert fills a page to 85 %.
ALTER TABLE messages SET (fillfactor = 85)
