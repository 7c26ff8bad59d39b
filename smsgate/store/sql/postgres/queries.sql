-- Every statement of the PostgreSQL store (smsgate/store/postgres.py), by name.
-- Loaded once per process with smsgate.store.queries.load("postgres"): each block is headed
-- `-- name --`, then `--` comment lines, then one statement. Parameters are asyncpg's $n;
-- lists travel as one array parameter (`= ANY($1::text[])`, `unnest`), so that every
-- statement is fixed text, prepared once per connection.
-- Messages are read as the 28 columns of rows.row_to_message, in that order.

-- current_schema --
-- The schema the URL's search_path selected (it names the wake-up channel)
SELECT current_schema()

-- ping --
-- The cheapest proof that the server answers
SELECT 1

-- work_notify --
-- Wake the dispatchers listening on channel $1: messages were committed. Its own transaction,
-- after theirs (a NOTIFY holds a server-wide lock through its commit's flush), and not waiting
-- for that flush: a wake-up lost in a crash finds no listener to wake anyway
SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')

-- migration_lock --
-- One node migrates at a time: held until the migration's transaction ends
SELECT pg_advisory_xact_lock($1)

-- schema_version_create --
-- The bookkeeping of migrations, made on first use
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)

-- schema_version --
-- The version the database is at (0: empty)
SELECT coalesce(max(version), 0) FROM schema_version

-- schema_version_record --
-- A migration applied
INSERT INTO schema_version VALUES ($1)

-- schema_version_exists --
-- Whether migrations ever ran in this schema (a read-only command must not create the table
-- to know): the search_path's first schema, as the other statements see it
SELECT to_regclass('schema_version') IS NOT NULL

-- next_message_seqs --
-- $1 message numbers, in order (for rows numbered before they are written: COPY)
SELECT nextval('messages_seq_seq') FROM generate_series(1, $1)

-- next_event_seqs --
-- $1 event numbers, in order (an event's callbacks carry its number)
SELECT nextval('events_seq_seq') FROM generate_series(1, $1)

-- next_mo_seqs --
-- $1 incoming message numbers, in order (their callbacks carry them)
SELECT nextval('mo_messages_seq_seq') FROM generate_series(1, $1)

-- account_insert --
-- A new account; its id
INSERT INTO accounts (name, balance, price, currency, tps, timezone, active, ip_allowlist,
                      callback_urls, settings, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id

-- account_update --
-- The given fields of an account (NULL keeps a field: none of them may be NULL)
UPDATE accounts
SET name = coalesce($2, name), balance = coalesce($3, balance), price = coalesce($4, price),
    currency = coalesce($5, currency), tps = coalesce($6, tps),
    timezone = coalesce($7, timezone), active = coalesce($8, active),
    ip_allowlist = coalesce($9, ip_allowlist), callback_urls = coalesce($10, callback_urls),
    settings = coalesce($11, settings), created_at = coalesce($12, created_at)
WHERE id = $1

-- account_by_id --
-- One account, with its senders in name order; its balance is its row's and its debit slices'
-- (debits.sql)
SELECT id, name, balance + coalesce((SELECT sum(b.amount) FROM balance_slices b
                                      WHERE b.account_id = a.id), 0)::int8,
       price, currency, tps, timezone, active, ip_allowlist, callback_urls, settings, created_at,
       coalesce((SELECT array_agg(s.name ORDER BY s.name) FROM senders s
                 WHERE s.account_id = a.id), '{}')
FROM accounts a WHERE id = $1

-- account_by_name --
-- One account by its unique name, with its senders
SELECT id, name, balance + coalesce((SELECT sum(b.amount) FROM balance_slices b
                                      WHERE b.account_id = a.id), 0)::int8,
       price, currency, tps, timezone, active, ip_allowlist, callback_urls, settings, created_at,
       coalesce((SELECT array_agg(s.name ORDER BY s.name) FROM senders s
                 WHERE s.account_id = a.id), '{}')
FROM accounts a WHERE name = $1

-- accounts_all --
-- Every account in id order, with its senders
SELECT id, name, balance + coalesce((SELECT sum(b.amount) FROM balance_slices b
                                      WHERE b.account_id = a.id), 0)::int8,
       price, currency, tps, timezone, active, ip_allowlist, callback_urls, settings, created_at,
       coalesce((SELECT array_agg(s.name ORDER BY s.name) FROM senders s
                 WHERE s.account_id = a.id), '{}')
FROM accounts a ORDER BY id

-- balances_credit --
-- Give money back ($1 ids, $2 amounts); the rows were locked in id order before
UPDATE accounts a SET balance = a.balance + d.amount
FROM unnest($1::int8[], $2::int8[]) AS d(id, amount)
WHERE a.id = d.id

-- callback_urls --
-- The callback URLs (JSON) of some accounts
SELECT id, callback_urls FROM accounts WHERE id = ANY($1::int8[])

-- credential_put --
-- Add a credential, or give an existing identifier a new account and secret
INSERT INTO credentials (account_id, dialect, kind, identifier, secret)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (dialect, kind, identifier)
DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret

-- credential_find --
-- The credential of an identifier
SELECT account_id, dialect, kind, identifier, secret FROM credentials
WHERE dialect = $1 AND kind = $2 AND identifier = $3

-- credentials_of --
-- An account's credentials
SELECT account_id, dialect, kind, identifier, secret FROM credentials
WHERE account_id = $1 ORDER BY dialect, kind, identifier

-- credential_delete --
-- Forget a credential
DELETE FROM credentials WHERE dialect = $1 AND kind = $2 AND identifier = $3

-- senders_add --
-- Allow sender names ($2) to an account; those it has stay
INSERT INTO senders (account_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING

-- sender_remove --
-- Withdraw a sender name
DELETE FROM senders WHERE account_id = $1 AND name = $2

-- stoplist_add --
-- Put phones ($2) on an account's stop list (0: the global one)
INSERT INTO stoplist (account_id, phone) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING

-- stoplist_remove --
-- Take phones ($2) off an account's stop list
DELETE FROM stoplist WHERE account_id = $1 AND phone = ANY($2::text[])

-- stoplist_of --
-- An account's stop list
SELECT phone FROM stoplist WHERE account_id = $1 ORDER BY phone

-- stoplist_match --
-- Which of the (account $1, phone $2) pairs are stopped, by the account's list or the global
-- one (0), as (list, phone) rows; probed pair by pair, as accept_at_once does
SELECT s.account_id, s.phone
FROM unnest($1::int8[], $2::text[]) AS p(account_id, phone)
CROSS JOIN LATERAL (
    SELECT account_id, phone FROM stoplist
    WHERE account_id IN (p.account_id, 0) AND phone = p.phone
) AS s

-- stoplist_any --
-- Whether any of these accounts ($1, with 0 for the global list) has a stop-listed phone
SELECT 1 FROM stoplist WHERE account_id = ANY($1::int8[]) LIMIT 1

-- messages_by_refs --
-- The stored messages of client references, as (account_id, dialect, client_ref) columns
SELECT m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone, m.text,
       m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.send_window, m.flash,
       m.tag, m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta
FROM unnest($1::int8[], $2::text[], $3::text[]) AS k(a, d, r)
JOIN messages m ON m.account_id = k.a AND m.dialect = k.d AND m.client_ref = k.r

-- messages_insert --
-- New messages ($1, rows of the type message_in: migration 013), numbered from the sequence
-- in row order; a reference stored meanwhile by another transaction is skipped: only the
-- rows written come back. With them, the debit slices' changes ($2 slices, $3 amounts:
-- debits.sql, slices_change)
WITH paid AS (
    UPDATE balance_slices s SET amount = s.amount + d.delta
    FROM unnest($2::int8[], $3::int8[]) AS d(id, delta)
    WHERE s.id = d.id
)
INSERT INTO messages (id, account_id, dialect, client_ref, job_id, sender, phone, text,
                      encoding, segments, priority, not_before, expires_at, send_window, flash,
                      tag, callback_url, status, error_code, price, created_at, updated_at,
                      confidential, meta)
SELECT * FROM unnest($1::message_in[])
ON CONFLICT (account_id, dialect, client_ref) WHERE client_ref IS NOT NULL DO NOTHING
RETURNING id, seq

-- accept_at_once --
-- A group of plainly new messages ($1, as messages_insert's) in one statement, its own
-- transaction (postgres.py): written, with their debits, only if each account ($2, debits
-- $3) has a slice holding its debit that no other transaction holds, and no message's phone
-- is on its account's stop list or the global one (0). Else nothing is written and no row
-- comes back; a reference stored before fails the statement on the unique index (nothing
-- written either). The stop lists are probed by each message's (account, phone) and
-- (0, phone), whole keys of their index: every phone under every account of the group made
-- accounts x phones probes, and a plan made while the stop lists were empty probed the
-- accounts alone and read every phone they list (docs/operations.md, "Many accounts")
WITH taken AS (
    SELECT s.id, o.amount
    FROM unnest($2::int8[], $3::int8[]) AS o(account_id, amount)
    CROSS JOIN LATERAL (
        SELECT id FROM balance_slices
        WHERE account_id = o.account_id AND amount >= o.amount
        LIMIT 1 FOR UPDATE SKIP LOCKED
    ) AS s
), clear AS (
    SELECT (SELECT count(*) FROM taken) = cardinality($2::int8[])
           AND NOT EXISTS (SELECT FROM unnest($1::message_in[]) AS m
                           CROSS JOIN LATERAL (
                               SELECT FROM stoplist
                               WHERE account_id IN (m.account_id, 0) AND phone = m.phone
                               LIMIT 1
                           ) AS stopped)
           AS ok
), paid AS (
    UPDATE balance_slices s SET amount = s.amount - t.amount
    FROM taken t WHERE s.id = t.id AND (SELECT ok FROM clear)
)
INSERT INTO messages (id, account_id, dialect, client_ref, job_id, sender, phone, text,
                      encoding, segments, priority, not_before, expires_at, send_window, flash,
                      tag, callback_url, status, error_code, price, created_at, updated_at,
                      confidential, meta)
SELECT * FROM unnest($1::message_in[])
WHERE (SELECT ok FROM clear)
RETURNING id, seq

-- messages_delete --
-- Take back messages written in this transaction
DELETE FROM messages WHERE id = ANY($1::text[])

-- jobs_insert --
-- New jobs, one array per column, with the seq range their messages were stored in
INSERT INTO jobs (id, account_id, dialect, client_ref, total, created_at, meta, first_seq,
                  last_seq)
SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int4[],
                     $6::float8[], $7::text[], $8::int8[], $9::int8[])

-- messages_lock --
-- Messages about to change, locked in id order (two nodes reporting take turns)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE

-- message_lock_claimed --
-- One message of an account, locked, and whether a dispatcher holds it
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta, dispatch_token IS NOT NULL
FROM messages WHERE id = $1 AND account_id = $2 FOR UPDATE

-- messages_move --
-- Write the rules' moves, one array per column: status and its times, the lease cleared
-- where $8 says so, a confidential text blanked where $9 does
UPDATE messages m
SET status = u.status, error_code = u.error_code, updated_at = u.updated_at,
    carrier_id = u.carrier_id, submitted_at = u.submitted_at, done_at = u.done_at,
    dispatch_token = CASE WHEN u.clear THEN NULL ELSE m.dispatch_token END,
    lease_until = CASE WHEN u.clear THEN NULL ELSE m.lease_until END,
    text = CASE WHEN m.confidential AND u.blank THEN '' ELSE m.text END
FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::float8[],
            $7::float8[], $8::bool[], $9::bool[])
     AS u(id, status, error_code, updated_at, carrier_id, submitted_at, done_at, clear, blank)
WHERE m.id = u.id

-- messages_by_any_ids --
-- Messages by id, unlocked (a report plan's rows: its write checks that each is still in the
-- status read)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE id = ANY($1::text[])

-- report_prelude --
-- What a checked report plan needs before it is written: $1 event numbers, in order, and the
-- callback URLs (JSON) of the accounts $2, as two arrays in id order (after set_config's
-- column). Not waiting for a WAL flush: nextval gives a statement that logs the sequence (one
-- in 32 numbers, so nearly every batch) a transaction id, and so a flushed commit of its own.
-- Numbers lost in a crash are only gaps: they are stored by reports_write, whose flush covers
-- this statement's record, written before it
SELECT set_config('synchronous_commit', 'off', true),
       ARRAY(SELECT nextval('events_seq_seq') FROM generate_series(1, $1)),
       ARRAY(SELECT id FROM accounts WHERE id = ANY($2::int8[]) ORDER BY id),
       ARRAY(SELECT callback_urls FROM accounts WHERE id = ANY($2::int8[]) ORDER BY id)

-- reports_write --
-- A report plan made from states not locked (postgres_reports.py), in one statement, its own
-- transaction: each move ($1, rows of report_move: migration 014) applies only if its row is
-- still in the status it was planned from (`was`); the events ($2, event_in) and callbacks
-- ($3, outbox_in) of the messages moved go with it, the others' not. The ids moved come back.
-- A carrier id is kept where the plan has none (another node may have learnt it since). The
-- connector-log lines the reports acknowledge ($4, log_line_in) are written whatever moved:
-- committed with the reports, never after them (Store.record_reports)
WITH moved AS (
    UPDATE messages m
    SET status = u.status, error_code = u.error_code, updated_at = u.updated_at,
        carrier_id = coalesce(u.carrier_id, m.carrier_id), submitted_at = u.submitted_at,
        done_at = u.done_at,
        dispatch_token = CASE WHEN u.clear THEN NULL ELSE m.dispatch_token END,
        lease_until = CASE WHEN u.clear THEN NULL ELSE m.lease_until END,
        text = CASE WHEN m.confidential AND u.blank THEN '' ELSE m.text END
    FROM unnest($1::report_move[]) AS u
    WHERE m.id = u.id AND m.status = u.was
    RETURNING m.id
), logged AS (
    INSERT INTO events (seq, message_id, account_id, status, error_code, carrier_error, at)
    SELECT * FROM unnest($2::event_in[]) AS e
    WHERE e.message_id IN (SELECT id FROM moved)
    RETURNING 'ev-' || seq AS event_id
), owed AS (
    INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at, created_at)
    SELECT x.event_id, x.account_id, x.dialect, x.kind, x.url, x.payload, x.due, x.due
    FROM unnest($3::outbox_in[]) AS x
    WHERE x.event_id IN (SELECT event_id FROM logged)
    ON CONFLICT (event_id, dialect, url) DO NOTHING
), noted AS (
    INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                               report_due)
    SELECT * FROM unnest($4::log_line_in[])
)
SELECT id FROM moved

-- accounts_lock --
-- Lock accounts in id order before changing their balances
SELECT 1 FROM accounts WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE

-- events_insert --
-- Status events, numbered by the backend, one array per column
INSERT INTO events (seq, message_id, account_id, status, error_code, carrier_error, at)
SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[],
                     $7::float8[])

-- outbox_insert --
-- Callbacks owed (event, account, dialect, kind, url, payload, due = created); a callback
-- queued before for the same event and target stays as it is
INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at, created_at)
SELECT e, a, d, k, u, p, t, t
FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::bytea[],
            $7::float8[]) AS x(e, a, d, k, u, p, t)
ON CONFLICT (event_id, dialect, url) DO NOTHING

-- message_by_id --
-- One message of an account
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE id = $1 AND account_id = $2

-- messages_by_ids --
-- Some messages of an account (in no order)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE account_id = $1 AND id = ANY($2::text[])

-- message_by_ref --
-- The message of a client reference
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE account_id = $1 AND dialect = $2 AND client_ref = $3

-- owner_by_seq --
-- Whose message a number is
SELECT account_id FROM messages WHERE seq = $1

-- message_by_seq --
-- One message of an account by its number
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE seq = $1 AND account_id = $2

-- message_by_carrier_id --
-- The latest message a carrier id was given to
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE carrier_id = $1 ORDER BY seq DESC LIMIT 1

-- messages_list --
-- A page of an account's messages after a seq; each filter ($3-$8) applies unless NULL
-- (a custom plan folds the NULL ones away: the walk is messages_account's)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages
WHERE account_id = $1 AND seq > $2
  AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR phone = $4)
  AND ($5::text IS NULL OR job_id = $5) AND ($6::text IS NULL OR dialect = $6)
  AND ($7::float8 IS NULL OR created_at >= $7) AND ($8::float8 IS NULL OR created_at < $8)
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $5), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $5), 9223372036854775807)
ORDER BY seq LIMIT $9

-- job_by_id --
-- One job of an account
SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs
WHERE id = $1 AND account_id = $2

-- job_counts --
-- A job's messages counted by status (searched in the job's seq range: schema version 8)
SELECT status, count(*) FROM messages
WHERE job_id = $1 AND account_id = $2
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $1), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $1), 9223372036854775807)
GROUP BY status

-- job_messages --
-- A page of a job's messages after a seq (searched in the job's seq range)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding,
       segments, priority, not_before, expires_at, send_window, flash, tag, callback_url,
       status, error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,
       confidential, meta
FROM messages WHERE job_id = $1 AND account_id = $2 AND seq > $3
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = $1), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = $1), 9223372036854775807)
ORDER BY seq LIMIT $4

-- events_of --
-- A message's status events, in order
SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events
WHERE message_id = $1 AND account_id = $2 ORDER BY seq

-- events_after --
-- Every account's status events after a seq
SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events
WHERE seq > $1 ORDER BY seq LIMIT $2

-- events_last --
-- The last status event's seq (0: none): `tail` starts after it
SELECT coalesce(max(seq), 0) FROM events

-- events_start_since --
-- The seq just before the first event at or after a time (`tail --since`); the last seq when
-- none is that recent. No index on `at`: one scan, once per tail
SELECT coalesce(min(seq) - 1, (SELECT coalesce(max(seq), 0) FROM events)) FROM events
WHERE at >= $1

-- mo_list --
-- A page of an account's incoming messages after a seq
SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta
FROM mo_messages WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3

-- counts --
-- Messages waiting and callbacks pending, for metrics, each counted in the partial index whose
-- condition it repeats (`queue`, migration 018): scheduled (messages_scheduled: a release
-- clears the token of what it schedules), queued claimed or not (messages_due), and the
-- pending callbacks
SELECT 'scheduled', count(*) FROM messages WHERE queue = 'scheduled'
UNION ALL SELECT 'queued', count(*) FROM messages WHERE queue = 'due'
UNION ALL SELECT 'outbox', count(*) FROM outbox WHERE state = 'pending'

-- scheduled_due --
-- Scheduled messages whose time came join the queue (rows another node holds are skipped)
UPDATE messages SET status = 'queued', updated_at = $1
WHERE id IN (SELECT id FROM messages
             WHERE queue = 'scheduled' AND not_before <= $1
             FOR UPDATE SKIP LOCKED)

-- claim_due --
-- Lease up to $4 unclaimed messages to token $1 until $2, highest priority first, skipping
-- the accounts in $3 and rows another node is claiming. Committed without waiting for its
-- flush (as on SQLite): a connector that can know whether the carrier has a message writes
-- its own line next, or the SUBMITTED after it is; either's flush covers the claim (the WAL is
-- one sequence, for every node). Lost with them in a crash of the server, the claim is made
-- again, and SMPP sends a claimed message again after a crash either way. `queue` 'due' is
-- status accepted or queued, claimed or not (migration 018: the condition of messages_due);
-- the claimed ones, still there until their SUBMITTED, are skipped by their token. The update
-- changes no indexed column (not `queue`: accepted and queued are both 'due'), so it is HOT.
-- It starts at `seq` $5 (store/claim_floor.py), as `seq + 0`, messages_due's second key
-- (migration 021: as `seq` it was planned on messages_seq): an index condition, so the entries
-- of the messages sent below it, kept until their old versions can be pruned, are passed over
-- without reading their rows
WITH c AS (SELECT id FROM messages
           WHERE queue = 'due' AND dispatch_token IS NULL AND seq + 0 >= $5
             AND NOT (account_id = ANY($3::int8[]))
           ORDER BY priority DESC, seq + 0 LIMIT $4 FOR UPDATE SKIP LOCKED)
UPDATE messages m SET dispatch_token = $1, lease_until = $2, status = 'queued'
FROM c WHERE m.id = c.id AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'
RETURNING m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone,
          m.text, m.encoding, m.segments, m.priority, m.not_before, m.expires_at,
          m.send_window, m.flash, m.tag, m.callback_url, m.status, m.error_code, m.price,
          m.created_at, m.updated_at, m.submitted_at, m.done_at, m.carrier_id, m.confidential,
          m.meta

-- release --
-- Give claimed messages ($1) back with status $3 (the rules' choice) not before $2; the
-- dispatchers on channel $4 are woken when they are due at once (status 'queued')
WITH released AS (
    UPDATE messages SET dispatch_token = NULL, lease_until = NULL, not_before = $2, status = $3
    WHERE id = ANY($1::text[]) AND status IN ('accepted', 'queued', 'scheduled')
    RETURNING 1)
SELECT pg_notify($4, '') WHERE $3 = 'queued'

-- claimed_by_others --
-- Take over messages whose lease (another token's) lapsed before $2, leased to $1 until $3.
-- Claimed messages are in messages_due (migration 018: an index of the claimed alone made
-- every claim write an entry), so this walks the queue: once every half lease
WITH c AS (SELECT id FROM messages
           WHERE queue = 'due' AND dispatch_token <> $1
             AND lease_until < $2
           FOR UPDATE SKIP LOCKED)
UPDATE messages m SET dispatch_token = $1, lease_until = $3
FROM c WHERE m.id = c.id
RETURNING m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone,
          m.text, m.encoding, m.segments, m.priority, m.not_before, m.expires_at,
          m.send_window, m.flash, m.tag, m.callback_url, m.status, m.error_code, m.price,
          m.created_at, m.updated_at, m.submitted_at, m.done_at, m.carrier_id, m.confidential,
          m.meta

-- renew_leases --
-- Extend every lease token $1 holds to $2 (a live dispatcher's heartbeat, every third of a
-- lease: it walks the queue, messages_due, as claimed_by_others does)
UPDATE messages SET lease_until = $2
WHERE queue = 'due' AND dispatch_token = $1

-- mo_insert --
-- Incoming messages, numbered by the backend, one array per column
INSERT INTO mo_messages (seq, id, account_id, phone, to_number, text, received_at, reply_to,
                         meta)
SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[],
                     $7::float8[], $8::text[], $9::text[])

-- outbox_due --
-- Up to $2 callbacks due at $1, oldest first, locked for a claim: of the dialects in $3
-- (NULL: any) and not in $4; rows another node is claiming are skipped
SELECT id, event_id, account_id, dialect, kind, url, payload, attempts, created_at FROM outbox
WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
  AND ($3::text[] IS NULL OR dialect = ANY($3)) AND NOT (dialect = ANY($4))
ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED

-- outbox_siblings --
-- Every callback of the messages the callbacks $1 report on (through their events, 'ev-<seq>';
-- an incoming SMS's have none), as rules.Sibling: id, message, state, next_at, lease_until,
-- lease_owner
WITH m AS (SELECT DISTINCT e.message_id FROM outbox c
           JOIN events e
             ON e.seq = CASE WHEN c.event_id LIKE 'ev-%' THEN substr(c.event_id, 4)::int8 END
           WHERE c.id = ANY($1::int8[]))
SELECT o.id, e.message_id, o.state, o.next_at, o.lease_until, o.lease_owner
FROM m JOIN events e ON e.message_id = m.message_id
JOIN outbox o ON o.event_id = 'ev-' || e.seq

-- outbox_subjects --
-- The callbacks $1, each with the rows its payload is rendered from as it is sent
-- (store/callback_rows.py): its event ('ev-<seq>') and that event's message, or its incoming
-- SMS ('mo-<id>'); a payload stored with the row (by a version that stored them) wins
SELECT o.id, o.event_id, o.account_id, o.dialect, o.kind, o.url, o.payload, o.attempts,
       o.created_at,
       e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at,
       m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone,
       m.text, m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.send_window, m.flash,
       m.tag, m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta,
       r.seq, r.id, r.account_id, r.phone, r.to_number, r.text, r.received_at, r.reply_to, r.meta
FROM outbox o
LEFT JOIN events e
  ON e.seq = CASE WHEN o.kind = 'dr' THEN substr(o.event_id, 4)::int8 END
LEFT JOIN messages m ON m.id = e.message_id
LEFT JOIN mo_messages r ON o.kind = 'mo' AND r.id = substr(o.event_id, 4)
WHERE o.id = ANY($1::int8[])
ORDER BY o.id

-- outbox_any_due --
-- Whether outbox_due would find anything, asked outside a transaction: an idle notifier's
-- poll then commits nothing ($1 now, $2 only (NULL: any), $3 skip)
SELECT 1 FROM outbox
WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
  AND ($2::text[] IS NULL OR dialect = ANY($2)) AND NOT (dialect = ANY($3))
LIMIT 1

-- outbox_lease --
-- A claim's plan (rules.order_claim): $1 leased until $2 to $3; $4 held back until $5 (no
-- attempt counted)
WITH held AS (UPDATE outbox o SET next_at = h.at, lease_until = NULL
              FROM unnest($4::int8[], $5::float8[]) AS h(id, at) WHERE o.id = h.id)
UPDATE outbox SET lease_until = $2, lease_owner = $3 WHERE id = ANY($1::int8[])

-- outbox_unlease --
-- Free the leases on pending callbacks of the dialects in $1 (NULL: any) and not in $2
UPDATE outbox SET lease_until = NULL
WHERE state = 'pending' AND lease_until IS NOT NULL
  AND ($1::text[] IS NULL OR dialect = ANY($1)) AND NOT (dialect = ANY($2))

-- outbox_defer --
-- Hold callbacks back until $2 without counting an attempt
UPDATE outbox SET next_at = $2, lease_until = NULL WHERE id = ANY($1::int8[])

-- outbox_items --
-- The outbox, of one account and in one state where given (NULL: any), with the rows each
-- callback's payload is rendered from (as outbox_subjects)
SELECT o.id, o.event_id, o.account_id, o.dialect, o.kind, o.url, o.payload, o.attempts,
       o.created_at,
       e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at,
       m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone,
       m.text, m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.send_window, m.flash,
       m.tag, m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta,
       r.seq, r.id, r.account_id, r.phone, r.to_number, r.text, r.received_at, r.reply_to, r.meta
FROM outbox o
LEFT JOIN events e
  ON e.seq = CASE WHEN o.kind = 'dr' THEN substr(o.event_id, 4)::int8 END
LEFT JOIN messages m ON m.id = e.message_id
LEFT JOIN mo_messages r ON o.kind = 'mo' AND r.id = substr(o.event_id, 4)
WHERE ($1::int8 IS NULL OR o.account_id = $1) AND ($2::text IS NULL OR o.state = $2)
ORDER BY o.id

-- callbacks_of --
-- The callbacks owed for a message's events (outbox_event finds each event's rows)
SELECT event_id, dialect, state, attempts, last_error FROM outbox
WHERE account_id = $2
  AND event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = $1 AND account_id = $2)
ORDER BY id

-- outbox_backlog --
-- Pending callbacks per dialect
SELECT dialect, count(*) FROM outbox WHERE state = 'pending' GROUP BY dialect

-- connector_log_add --
-- What connectors handed over ($1, rows of log_line_in: migration 014)
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                           report_due)
SELECT * FROM unnest($1::log_line_in[])

-- connector_log_note --
-- connector_log_add for lines the connector acknowledges to the dispatcher next, which records
-- that durably (Store.connector_log_note): committed without waiting for its flush, which that
-- record's covers
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                           report_due)
SELECT * FROM unnest($1::log_line_in[])
WHERE (SELECT set_config('synchronous_commit', 'off', true)) = 'off'

-- connector_log_find --
-- Connector $1's lines about some messages, in order
SELECT message_id, carrier_id, submitted_at, outcome, report_due FROM connector_log
WHERE connector = $1 AND message_id = ANY($2::text[]) ORDER BY seq

-- connector_log_pending --
-- Connector $1's lines still waiting for a report, soonest due first: not marked reported,
-- and the message not final (done_at set: Store.connector_log_pending)
SELECT c.message_id, c.carrier_id, c.submitted_at, c.outcome, c.report_due
FROM connector_log AS c
WHERE c.connector = $1 AND NOT c.reported
  AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = c.message_id AND m.done_at IS NOT NULL)
ORDER BY c.report_due LIMIT $2

-- connector_log_reported --
-- Lines whose report came; committed without waiting for its flush: lost in a crash of the
-- server, a report is asked for or sent once more (a repeated status is no change). Each line
-- is found by its key, one probe of connector_log_message an id; `reported IS NOT TRUE`, not
-- `NOT reported`, so that the pending index (whose condition that would imply) is not walked
-- instead: planned as nearly empty, it was, and each pending line compared with every id of
-- the batch (an array parameter is not hashed): 170 ms of the server's CPU to mark 1,000
-- lines among 5,000 pending, as an engine that fell behind sends them
UPDATE connector_log SET reported = TRUE
WHERE ctid = ANY(ARRAY(
    SELECT l.ctid FROM unnest($2::text[]) AS s(message_id),
    LATERAL (SELECT ctid FROM connector_log
             WHERE connector = $1 AND message_id = s.message_id AND reported IS NOT TRUE
             OFFSET 0) AS l))
  AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'

-- connector_log_purge --
-- The purge's next window of connector-log lines, as attempts_purge: forget the settled lines
-- among them handed over before $3 (marked reported, or whose message is final)
WITH w AS (
    SELECT seq, submitted_at FROM connector_log WHERE seq > $1 ORDER BY seq LIMIT $2
), gone AS (
    DELETE FROM connector_log
    WHERE seq > $1 AND seq <= (SELECT max(seq) FROM w) AND submitted_at < $3
      AND (reported OR EXISTS (SELECT 1 FROM messages AS m
                               WHERE m.id = connector_log.message_id AND m.done_at IS NOT NULL))
    RETURNING seq
)
SELECT count(*), coalesce(max(seq), $1), count(*) FILTER (WHERE submitted_at < $3),
       (SELECT count(*) FROM gone)
FROM w
