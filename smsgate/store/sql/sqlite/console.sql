-- The operator console's reads (SQLite): across accounts, newest first, paged by keyset
-- (`seq < :before_seq`). Every filter is NULL (any) or the one value a row must have; the
-- console picks the query by the index it can walk (store/console_search.py:search_query).

-- console_message_by_id --
-- One message by its id (the unique index), if it also matches the other filters
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE id = :message_id AND seq < :before_seq AND seq > :after_seq
  AND (:account_id IS NULL OR account_id = :account_id)
  AND (:phone IS NULL OR phone = :phone)
  AND (:client_ref IS NULL OR client_ref = :client_ref)
  AND (:job_id IS NULL OR job_id = :job_id)
  AND (:status IS NULL OR status = :status)
  AND (:dialect IS NULL OR dialect = :dialect)
  AND (:since IS NULL OR created_at >= :since) AND (:until IS NULL OR created_at < :until)
LIMIT :limit

-- console_messages_of_account --
-- An account's messages, newest first, below a seq (messages_account), within a job's seq
-- range when a job is given (schema version 2)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE account_id = :account_id AND seq < :before_seq AND seq > :after_seq
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = :job_id), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = :job_id), 9223372036854775807)
  AND (:phone IS NULL OR phone = :phone)
  AND (:client_ref IS NULL OR client_ref = :client_ref)
  AND (:job_id IS NULL OR job_id = :job_id)
  AND (:status IS NULL OR status = :status)
  AND (:dialect IS NULL OR dialect = :dialect)
  AND (:since IS NULL OR created_at >= :since) AND (:until IS NULL OR created_at < :until)
ORDER BY seq DESC LIMIT :limit

-- console_messages --
-- Every account's messages, newest first, below a seq and above the time range's first seq,
-- within a job's seq range when a job is given
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE seq < :before_seq AND seq > :after_seq
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = :job_id), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = :job_id), 9223372036854775807)
  AND (:phone IS NULL OR phone = :phone)
  AND (:client_ref IS NULL OR client_ref = :client_ref)
  AND (:job_id IS NULL OR job_id = :job_id)
  AND (:status IS NULL OR status = :status)
  AND (:dialect IS NULL OR dialect = :dialect)
  AND (:since IS NULL OR created_at >= :since) AND (:until IS NULL OR created_at < :until)
ORDER BY seq DESC LIMIT :limit

-- console_callbacks --
-- The outbox rows of a message's events, in the order they were queued
SELECT event_id, dialect, kind, url, state, attempts, last_error, created_at, next_at, done_at
FROM outbox
WHERE event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = ?)
ORDER BY id

-- console_last_message_seq --
-- The newest message's seq (0: none)
SELECT coalesce(max(seq), 0) FROM messages

-- console_last_event_seq --
-- The newest status event's seq (0: none)
SELECT coalesce(max(seq), 0) FROM events

-- console_message_probe --
-- The first message at or after a seq, with its time (one step of store/console_search.seq_at)
SELECT seq, created_at FROM messages WHERE seq >= ? ORDER BY seq LIMIT 1

-- console_event_probe --
-- The first status event at or after a seq, with its time
SELECT seq, at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1

-- console_traffic --
-- Status events in a seq range, counted per time bucket and status
SELECT CAST(at / :bucket AS INTEGER) * :bucket, status, count(*) FROM events
WHERE seq > :after_seq AND seq <= :upto_seq
GROUP BY 1, 2

-- console_account_traffic --
-- An account's messages above a seq, by status (messages_account)
SELECT status, count(*) FROM messages WHERE account_id = ? AND seq > ? GROUP BY status

-- console_callback_health --
-- Callbacks queued since a time that the outbox keeps, per account, state and whether an
-- attempt failed (one scan of the outbox: done and dead rows are purged after outbox_days)
SELECT account_id, state, attempts > 0, count(*) FROM outbox
WHERE created_at >= ?
GROUP BY account_id, state, attempts > 0

-- console_mo --
-- Incoming SMS of an account (NULL: of every account), newest first, below a seq
SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta FROM mo_messages
WHERE seq < :before_seq AND (:account_id IS NULL OR account_id = :account_id)
ORDER BY seq DESC LIMIT :limit

-- console_job --
-- One job of any account
SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs WHERE id = ?
