-- Callback attempts (SQLite): written in the same transaction as the outbox marks of
-- queries.sql (outbox_retry, outbox_dead; outbox_done keeps its one in the outbox row), read
-- by the console, purged with their outbox rows. See 006_callback_attempts.sql and
-- 011_done_attempt.sql.

-- attempts_insert --
-- Attempts of one or more callbacks; one already kept (the same row and number, written by
-- a notifier whose lease had lapsed) stays as it was
INSERT OR IGNORE INTO callback_attempts (outbox_id, attempt, account_id, started_at, host,
                                         status, error, took_ms, outcome)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- attempts_of_message --
-- Every attempt of the callbacks of a message's events, with the callback each was for, in
-- the order the callbacks were queued, then by attempt: the failures (and, before version
-- 11, the successes) from callback_attempts, a delivered callback's success from its outbox
-- row unless an attempt of that number is already kept (two notifiers on a lapsed lease)
WITH owed AS (
    SELECT id, account_id, event_id, dialect, kind, done_attempt, done_started_at, done_host,
           done_status, done_took_ms
    FROM outbox WHERE event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = ?)
)
SELECT a.outbox_id, a.account_id, a.attempt, a.started_at, a.host, a.status, a.error,
       a.took_ms, a.outcome, o.event_id, o.dialect, o.kind
FROM owed o
JOIN callback_attempts a ON a.outbox_id = o.id
UNION ALL
SELECT o.id, o.account_id, o.done_attempt, o.done_started_at, o.done_host, o.done_status,
       NULL, o.done_took_ms, 'done', o.event_id, o.dialect, o.kind
FROM owed o
WHERE o.done_attempt IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM callback_attempts a
                  WHERE a.outbox_id = o.id AND a.attempt = o.done_attempt)
ORDER BY 1, 3

-- attempts_purge --
-- The attempts of the callbacks purge_outbox forgets in the same window (run just before it,
-- same transaction)
DELETE FROM callback_attempts
WHERE outbox_id IN (
    SELECT id FROM outbox
    WHERE id > :after AND id <= :last
      AND state IN ('done', 'dead') AND coalesce(done_at, next_at) < :before
)
