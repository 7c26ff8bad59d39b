-- Callback attempts (SQLite): written in the same transaction as the outbox marks of
-- queries.sql (outbox_done, outbox_retry, outbox_dead), read by the console, purged with
-- their outbox rows. See 006_callback_attempts.sql.

-- attempts_insert --
-- Attempts of one or more callbacks; one already kept (the same row and number, written by
-- a notifier whose lease had lapsed) stays as it was
INSERT OR IGNORE INTO callback_attempts (outbox_id, attempt, account_id, started_at, host,
                                         status, error, took_ms, outcome)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- attempts_of_message --
-- Every attempt of the callbacks of a message's events, with the callback each was for, in
-- the order the callbacks were queued, then by attempt
SELECT a.outbox_id, a.account_id, a.attempt, a.started_at, a.host, a.status, a.error,
       a.took_ms, a.outcome, o.event_id, o.dialect, o.kind
FROM outbox o
JOIN callback_attempts a ON a.outbox_id = o.id
WHERE o.event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = ?)
ORDER BY o.id, a.attempt

-- attempts_purge --
-- The attempts of the callbacks purge_outbox forgets (run just before it, same transaction)
DELETE FROM callback_attempts
WHERE outbox_id IN (
    SELECT id FROM outbox WHERE state IN ('done', 'dead') AND coalesce(done_at, next_at) < ?
)
