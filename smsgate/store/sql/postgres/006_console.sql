-- Version 6 (PostgreSQL): the operator console walks every account's messages newest first
-- and finds the first message of a time by bisecting seq (store/console_search.py); without
-- an index on seq alone (the key is the id) each of those is a scan of the whole table. Seq
-- only grows, so the index is appended to at its right edge.
CREATE INDEX messages_seq ON messages(seq);
