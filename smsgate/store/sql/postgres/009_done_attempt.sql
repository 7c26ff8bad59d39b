-- Version 9: a delivered callback's successful attempt is kept in its outbox row, written by
-- the done mark the notifier makes anyway; callback_attempts keeps only the attempts that
-- failed. A first-try success, nearly every callback, so writes one row instead of two.
-- NULL: delivered before version 9 (its attempt is a row of callback_attempts), or not
-- delivered. Columns without defaults: adding them rewrites nothing.
ALTER TABLE outbox ADD COLUMN done_attempt INTEGER,
                   ADD COLUMN done_started_at DOUBLE PRECISION,
                   ADD COLUMN done_host TEXT,
                   ADD COLUMN done_status INTEGER,
                   ADD COLUMN done_took_ms INTEGER;
