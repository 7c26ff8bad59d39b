-- Version 25 (PostgreSQL): identifiers compare byte by byte (collation "C").
--
-- Message, event, job and carrier ids, client references, phones, dialect and connector names
-- are keys, never text to sort for a reader. Under the database's collation (C.UTF-8 on
-- Debian, en_US.UTF-8 on many servers, an ICU locale on others) every comparison of such a key
-- in a B-tree (each index entry written or probed: a message's primary key at each of its
-- non-HOT updates, its events', its connector-log lines', its carrier id) went through the
-- locale's strcoll; under "C" it is a memcmp. The order of ASCII ids is the same either way,
-- and UTF-8 bytes compare in code point order, as SQLite's BINARY does: both stores order
-- keys alike. An index in "C" also no longer depends on the C library's collation tables, so
-- an operating system upgrade that changes them cannot corrupt it.
--
-- A column compared with another (a join) must have the same collation as it, or the
-- comparison takes the non-default one and an index of the other no longer serves it: every
-- column holding one kind of key changes together. Parameters, literals and the row types'
-- fields (message_in, report_move...) have the default collation, which gives way to "C".
-- Free text (message texts, senders, tags, names, errors) keeps the database's collation:
-- the console's searches fold its case by the locale.
--
-- No table is rewritten (the type stays text); the indexes on these columns are rebuilt,
-- under an exclusive lock on their tables: plan the upgrade's downtime by their size.
ALTER TABLE messages
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN dialect TYPE TEXT COLLATE "C",
    ALTER COLUMN client_ref TYPE TEXT COLLATE "C",
    ALTER COLUMN job_id TYPE TEXT COLLATE "C",
    ALTER COLUMN phone TYPE TEXT COLLATE "C",
    ALTER COLUMN carrier_id TYPE TEXT COLLATE "C";
ALTER TABLE events ALTER COLUMN message_id TYPE TEXT COLLATE "C";
ALTER TABLE jobs
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN dialect TYPE TEXT COLLATE "C",
    ALTER COLUMN client_ref TYPE TEXT COLLATE "C";
ALTER TABLE mo_messages
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN phone TYPE TEXT COLLATE "C";
ALTER TABLE outbox
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN dialect TYPE TEXT COLLATE "C",
    ALTER COLUMN url TYPE TEXT COLLATE "C";
ALTER TABLE connector_log
    ALTER COLUMN connector TYPE TEXT COLLATE "C",
    ALTER COLUMN message_id TYPE TEXT COLLATE "C",
    ALTER COLUMN carrier_id TYPE TEXT COLLATE "C";
ALTER TABLE message_routes
    ALTER COLUMN message_id TYPE TEXT COLLATE "C",
    ALTER COLUMN connector TYPE TEXT COLLATE "C",
    ALTER COLUMN carrier_id TYPE TEXT COLLATE "C";
ALTER TABLE stoplist ALTER COLUMN phone TYPE TEXT COLLATE "C";
ALTER TABLE credentials
    ALTER COLUMN dialect TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN identifier TYPE TEXT COLLATE "C"
