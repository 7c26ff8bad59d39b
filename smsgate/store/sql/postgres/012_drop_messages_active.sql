-- Version 12: messages_active goes. Its only reader was the metrics' count of waiting
-- messages (`counts`), which now counts through the dispatchers' own partial indexes
-- (messages_due, messages_scheduled, messages_leased). Every change of status is an update
-- no HOT update can be, so each message had an entry added to this index at its accept, its
-- claim and its SUBMITTED, three of the nineteen index entries its life writes.
DROP INDEX IF EXISTS messages_active
