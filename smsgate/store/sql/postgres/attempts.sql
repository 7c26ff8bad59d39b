-- Callback attempts (PostgreSQL): each outbox mark is one statement that also keeps the
-- attempts that led to it ($k.. one array per column of callback_attempts; empty arrays
-- when there are none), read by the console, purged with their outbox rows. See
-- 004_callback_attempts.sql.

-- attempts_done --
-- Callbacks delivered ($1 ids, $2 times), with their attempts ($3..$11); an attempt already
-- kept (the same row and number, by a notifier whose lease had lapsed) stays as it was
WITH tried AS (
    INSERT INTO callback_attempts (outbox_id, attempt, account_id, started_at, host, status,
                                   error, took_ms, outcome)
    SELECT * FROM unnest($3::int8[], $4::int4[], $5::int8[], $6::float8[], $7::text[],
                         $8::int4[], $9::text[], $10::int4[], $11::text[])
    ON CONFLICT DO NOTHING
)
UPDATE outbox o SET state = 'done', done_at = d.at, attempts = o.attempts + 1,
                    lease_until = NULL
FROM unnest($1::int8[], $2::float8[]) AS d(id, at)
WHERE o.id = d.id

-- attempts_retry --
-- Callbacks that failed, to be tried again at $2 ($3 the error), with their attempts ($4..$12)
WITH tried AS (
    INSERT INTO callback_attempts (outbox_id, attempt, account_id, started_at, host, status,
                                   error, took_ms, outcome)
    SELECT * FROM unnest($4::int8[], $5::int4[], $6::int8[], $7::float8[], $8::text[],
                         $9::int4[], $10::text[], $11::int4[], $12::text[])
    ON CONFLICT DO NOTHING
)
UPDATE outbox SET attempts = attempts + 1, next_at = $2, last_error = $3, lease_until = NULL
WHERE id = ANY($1::int8[])

-- attempts_dead --
-- Callbacks given up ($2 the error), with their attempts ($3..$11)
WITH tried AS (
    INSERT INTO callback_attempts (outbox_id, attempt, account_id, started_at, host, status,
                                   error, took_ms, outcome)
    SELECT * FROM unnest($3::int8[], $4::int4[], $5::int8[], $6::float8[], $7::text[],
                         $8::int4[], $9::text[], $10::int4[], $11::text[])
    ON CONFLICT DO NOTHING
)
UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = $2, lease_until = NULL
WHERE id = ANY($1::int8[])

-- attempts_of_message --
-- Every attempt of the callbacks of a message's events, with the callback each was for, in
-- the order the callbacks were queued, then by attempt
SELECT a.outbox_id, a.account_id, a.attempt, a.started_at, a.host, a.status, a.error,
       a.took_ms, a.outcome, o.event_id, o.dialect, o.kind
FROM outbox o
JOIN callback_attempts a ON a.outbox_id = o.id
WHERE o.event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = $1)
ORDER BY o.id, a.attempt

-- attempts_purge --
-- Forget callbacks delivered or given up before $1, and their attempts, in one statement
WITH gone AS (
    DELETE FROM outbox WHERE state IN ('done', 'dead') AND coalesce(done_at, next_at) < $1
    RETURNING id
), tried AS (
    DELETE FROM callback_attempts WHERE outbox_id IN (SELECT id FROM gone)
)
SELECT count(*) FROM gone
