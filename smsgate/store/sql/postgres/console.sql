-- The operator console's reads (PostgreSQL): across accounts, newest first, paged by keyset
-- (`seq < $10`). The searches bind the same twelve parameters in ConsoleFilter's order:
-- $1 message_id, $2 account_id, $3 phone, $4 client_ref, $5 job_id, $6 status, $7 dialect,
-- $8 since, $9 until, $10 before_seq, $11 after_seq, $12 limit; each filter is NULL (any) or
-- the one value a row must have (a custom plan folds the NULL ones away). The console picks
-- the query by the index it can walk (store/console_search.py:search_query).

-- console_message_by_id --
-- One message by its id (the unique index), if it also matches the other filters
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages
WHERE id = $1 AND ($2::bigint IS NULL OR account_id = $2)
  AND ($3::text IS NULL OR phone = $3) AND ($4::text IS NULL OR client_ref = $4)
  AND ($5::text IS NULL OR job_id = $5) AND ($6::text IS NULL OR status = $6)
  AND ($7::text IS NULL OR dialect = $7)
  AND ($8::float8 IS NULL OR created_at >= $8) AND ($9::float8 IS NULL OR created_at < $9)
  AND seq < $10 AND seq > $11
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $5), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $5), 9223372036854775807)
LIMIT $12

-- console_messages_of_account --
-- An account's messages, newest first, below a seq (messages_account)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages
WHERE ($1::text IS NULL OR id = $1) AND account_id = $2
  AND ($3::text IS NULL OR phone = $3) AND ($4::text IS NULL OR client_ref = $4)
  AND ($5::text IS NULL OR job_id = $5) AND ($6::text IS NULL OR status = $6)
  AND ($7::text IS NULL OR dialect = $7)
  AND ($8::float8 IS NULL OR created_at >= $8) AND ($9::float8 IS NULL OR created_at < $9)
  AND seq < $10 AND seq > $11
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $5), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $5), 9223372036854775807)
ORDER BY seq DESC LIMIT $12

-- console_messages --
-- Every account's messages, newest first, below a seq and above the time range's first seq
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages
WHERE ($1::text IS NULL OR id = $1) AND ($2::bigint IS NULL OR account_id = $2)
  AND ($3::text IS NULL OR phone = $3) AND ($4::text IS NULL OR client_ref = $4)
  AND ($5::text IS NULL OR job_id = $5) AND ($6::text IS NULL OR status = $6)
  AND ($7::text IS NULL OR dialect = $7)
  AND ($8::float8 IS NULL OR created_at >= $8) AND ($9::float8 IS NULL OR created_at < $9)
  AND seq < $10 AND seq > $11
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $5), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $5), 9223372036854775807)
ORDER BY seq DESC LIMIT $12

-- console_callbacks --
-- The outbox rows of a message's events, in the order they were queued
SELECT event_id, dialect, kind, url, state, attempts, last_error, created_at, next_at, done_at
FROM outbox
WHERE event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = $1)
ORDER BY id

-- console_last_message_seq --
-- The newest message's seq (0: none)
SELECT coalesce(max(seq), 0) FROM messages

-- console_last_event_seq --
-- The newest status event's seq (0: none)
SELECT coalesce(max(seq), 0) FROM events

-- console_message_probe --
-- The first message at or after a seq, with its time (one step of store/console_search.seq_at)
SELECT seq, created_at FROM messages WHERE seq >= $1 ORDER BY seq LIMIT 1

-- console_event_probe --
-- The first status event at or after a seq, with its time
SELECT seq, at FROM events WHERE seq >= $1 ORDER BY seq LIMIT 1

-- console_traffic --
-- Status events in a seq range, counted per time bucket and status
SELECT (floor(at / $3) * $3)::bigint, status, count(*) FROM events
WHERE seq > $1 AND seq <= $2
GROUP BY 1, 2

-- console_account_traffic --
-- An account's messages above a seq, by status (messages_account)
SELECT status, count(*) FROM messages WHERE account_id = $1 AND seq > $2 GROUP BY status

-- console_callback_health --
-- Callbacks queued since a time that the outbox keeps, per account, state and whether an
-- attempt failed (one scan of the outbox: done and dead rows are purged after outbox_days)
SELECT account_id, state, attempts > 0, count(*) FROM outbox
WHERE created_at >= $1
GROUP BY account_id, state, attempts > 0

-- console_mo --
-- Incoming SMS of an account (NULL: of every account), newest first, below a seq
SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta FROM mo_messages
WHERE seq < $1 AND ($2::bigint IS NULL OR account_id = $2)
ORDER BY seq DESC LIMIT $3

-- console_job --
-- One job of any account
SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs WHERE id = $1
