-- Callback attempts (PostgreSQL): each outbox mark is one statement that also keeps the
-- attempts that led to it (retry, dead: $k.. one array per column of callback_attempts;
-- empty arrays when there are none; done: its attempt in the outbox row it marks), read by
-- the console, purged with their outbox rows. See 004_callback_attempts.sql and
-- 009_done_attempt.sql.

-- attempts_done --
-- Callbacks delivered ($1 ids, $2 times), each with the attempt that delivered it ($3..$7:
-- attempt, start, host, status, milliseconds; NULLs where none), kept in its outbox row
UPDATE outbox o SET state = 'done', done_at = d.at, attempts = o.attempts + 1,
                    lease_until = NULL, done_attempt = d.attempt, done_started_at = d.started,
                    done_host = d.host, done_status = d.status, done_took_ms = d.took
FROM unnest($1::int8[], $2::float8[], $3::int4[], $4::float8[], $5::text[], $6::int4[],
            $7::int4[]) AS d(id, at, attempt, started, host, status, took)
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
-- the order the callbacks were queued, then by attempt: the failures (and, before version
-- 9, the successes) from callback_attempts, a delivered callback's success from its outbox
-- row unless an attempt of that number is already kept (two notifiers on a lapsed lease)
WITH owed AS (
    SELECT id, account_id, event_id, dialect, kind, done_attempt, done_started_at, done_host,
           done_status, done_took_ms
    FROM outbox WHERE event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = $1)
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
-- The purge's next window of outbox rows (store/retention.py): the rows after $1, at most $2,
-- by id; forget those among them delivered or given up before $3, and their attempts. How
-- many rows the window holds, the last id, how many were created before $3, how many went
WITH w AS (
    SELECT id, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $2
), gone AS (
    DELETE FROM outbox
    WHERE id > $1 AND id <= (SELECT max(id) FROM w)
      AND state IN ('done', 'dead') AND coalesce(done_at, next_at) < $3
    RETURNING id
), tried AS (
    DELETE FROM callback_attempts WHERE outbox_id IN (SELECT id FROM gone)
)
SELECT count(*), coalesce(max(id), $1), count(*) FILTER (WHERE created_at < $3),
       (SELECT count(*) FROM gone)
FROM w
