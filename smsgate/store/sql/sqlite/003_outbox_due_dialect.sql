-- Version 3 (SQLite): the pending-callbacks index carries the dialect, so that a notifier that
-- delivers some dialects only (the engine's, for its SMPP binds, beside the notifier process)
-- tells its rows from the others' in the index, without reading each pending row.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(next_at, id, dialect) WHERE state = 'pending';
