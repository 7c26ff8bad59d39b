-- Every statement of the SQLite store (smsgate/store/sqlite.py), by name.
-- Loaded once per process with smsgate.store.queries.load("sqlite"): each block is headed
-- `-- name --`, then `--` comment lines, then one statement (`connect`: a script). Parameters
-- are `?` in order, or `:name` where one is used twice. A list travels as one JSON array
-- parameter (`IN (SELECT value FROM json_each(?))`), so that every statement is fixed text and
-- stays in sqlite3's statement cache. The one exception is the bulk INSERT of messages, whose
-- columns and row count are only known per batch (see insert_messages).
-- Messages are read as the 28 columns of rows.row_to_message, in that order; accounts as the
-- 12 columns of sqlite._row_to_account, then their senders as a JSON array.

-- connect --
-- Every connection: WAL, the durability asked for ({synchronous}: one of OFF, NORMAL, FULL,
-- EXTRA), foreign keys, and freed pages overwritten (a blanked text does not linger in them)
PRAGMA journal_mode=WAL;
PRAGMA synchronous={synchronous};
PRAGMA busy_timeout=30000;
PRAGMA foreign_keys=ON;
PRAGMA secure_delete=FAST

-- checkpoint_truncate --
-- Copy the whole WAL into the database and empty the file (no old page image stays on disk)
PRAGMA wal_checkpoint(TRUNCATE)

-- ping --
-- The cheapest proof that the database answers
SELECT 1

-- schema_version_create --
-- The bookkeeping of migrations, made on first use
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)

-- schema_version --
-- The version the database is at (0: empty)
SELECT coalesce(max(version), 0) FROM schema_version

-- schema_version_record --
-- A migration applied
INSERT INTO schema_version VALUES (?)

-- schema_version_exists --
-- Whether migrations ever ran here (a read-only command must not create the table to know)
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'


-- account_insert --
-- A new account (its id is the cursor's lastrowid)
INSERT INTO accounts (name, balance, price, currency, tps, timezone, active, ip_allowlist,
                      callback_urls, settings, created_at)
VALUES (:name, :balance, :price, :currency, :tps, :timezone, :active, :ip_allowlist,
        :callback_urls, :settings, :created_at)

-- account_update --
-- The given fields of an account (NULL keeps a field: none of them may be NULL)
UPDATE accounts
SET name = coalesce(:name, name), balance = coalesce(:balance, balance),
    price = coalesce(:price, price), currency = coalesce(:currency, currency),
    tps = coalesce(:tps, tps), timezone = coalesce(:timezone, timezone),
    active = coalesce(:active, active), ip_allowlist = coalesce(:ip_allowlist, ip_allowlist),
    callback_urls = coalesce(:callback_urls, callback_urls),
    settings = coalesce(:settings, settings), created_at = coalesce(:created_at, created_at)
WHERE id = :id

-- account_by_id --
-- One account, with its senders
SELECT id, name, balance, price, currency, tps, timezone, active, ip_allowlist, callback_urls,
       settings, created_at,
       (SELECT json_group_array(s.name) FROM senders s WHERE s.account_id = accounts.id)
FROM accounts WHERE id = ?

-- account_by_name --
-- One account by its unique name, with its senders
SELECT id, name, balance, price, currency, tps, timezone, active, ip_allowlist, callback_urls,
       settings, created_at,
       (SELECT json_group_array(s.name) FROM senders s WHERE s.account_id = accounts.id)
FROM accounts WHERE name = ?

-- accounts_all --
-- Every account in id order, with its senders
SELECT id, name, balance, price, currency, tps, timezone, active, ip_allowlist, callback_urls,
       settings, created_at,
       (SELECT json_group_array(s.name) FROM senders s WHERE s.account_id = accounts.id)
FROM accounts ORDER BY id

-- account_balance --
-- One account's balance (no row: no such account)
SELECT balance FROM accounts WHERE id = ?

-- account_set_balance --
-- An account's balance as the rules computed it (in the transaction that read it)
UPDATE accounts SET balance = ? WHERE id = ?

-- balances --
-- The balances of the accounts in a JSON array of ids
SELECT id, balance FROM accounts WHERE id IN (SELECT value FROM json_each(?))

-- account_debit --
-- Charge an accepted batch (CHECK (balance >= 0) stands behind the rules' check)
UPDATE accounts SET balance = balance - ? WHERE id = ?

-- account_credit --
-- Refund what reports rejected, cancelled or let expire before a carrier had it
UPDATE accounts SET balance = balance + ? WHERE id = ?

-- callback_urls --
-- The callback URLs (a JSON object per dialect) of the accounts in a JSON array of ids
SELECT id, callback_urls FROM accounts WHERE id IN (SELECT value FROM json_each(?))


-- credential_put --
-- A dialect's credential, replacing the one of the same identifier
INSERT INTO credentials VALUES (?, ?, ?, ?, ?)
ON CONFLICT (dialect, kind, identifier)
DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret

-- credential_find --
-- The credential a request presents
SELECT account_id, dialect, kind, identifier, secret FROM credentials
WHERE dialect = ? AND kind = ? AND identifier = ?

-- credentials_of --
-- An account's credentials
SELECT account_id, dialect, kind, identifier, secret FROM credentials
WHERE account_id = ? ORDER BY dialect, kind, identifier

-- credential_delete --
-- Forget a credential
DELETE FROM credentials WHERE dialect = ? AND kind = ? AND identifier = ?

-- sender_add --
-- Allow a sender name (again: nothing)
INSERT OR IGNORE INTO senders VALUES (?, ?)

-- sender_remove --
-- Disallow a sender name
DELETE FROM senders WHERE account_id = ? AND name = ?

-- stoplist_add --
-- Stop a phone for an account (0: every account); again: nothing
INSERT OR IGNORE INTO stoplist VALUES (?, ?)

-- stoplist_remove --
-- Take a phone off an account's stop list
DELETE FROM stoplist WHERE account_id = ? AND phone = ?

-- stoplist_of --
-- An account's stop list
SELECT phone FROM stoplist WHERE account_id = ? ORDER BY phone

-- stoplist_any --
-- Whether any of the accounts in a JSON array has a stop-listed phone
SELECT 1 FROM stoplist WHERE account_id IN (SELECT value FROM json_each(?)) LIMIT 1

-- stoplist_hits --
-- The (account, phone) pairs stop-listed among a JSON array of accounts and one of distinct
-- phones (each phone looked up in the index: faster than an IN list of 50,000)
SELECT s.account_id, s.phone
FROM json_each(:phones) AS p CROSS JOIN stoplist AS s ON s.phone = p.value
WHERE s.account_id IN (SELECT value FROM json_each(:accounts))

-- refs_stored --
-- An account's messages of one dialect whose client references are in a JSON array of distinct
-- references, each looked up in the unique index (CROSS JOIN: in that order). 50,000 new ones
-- take 19 ms this way, 25 ms as IN lists of 500 and 35 ms as one IN (SELECT ... json_each).
SELECT m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone, m.text,
       m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.window, m.flash, m.tag,
       m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta
FROM json_each(?3) AS r CROSS JOIN messages AS m
  ON m.account_id = ?1 AND m.dialect = ?2 AND m.client_ref = r.value

-- accept_inputs --
-- What a group of accepts for one account reads before its plan, in one statement: the seq
-- its first message gets, the account's balance (NULL: no such account) and whether the
-- account or the global list (0) has any stop-listed phone. Three statements (the stop list's
-- and the balance's through json_each) cost a group of single sends ~25 us; this one ~6 us.
SELECT (SELECT coalesce(max(seq), 0) + 1 FROM messages),
       (SELECT balance FROM accounts WHERE id = :account),
       EXISTS (SELECT 1 FROM stoplist WHERE account_id IN (:account, 0))

-- next_message_seq --
-- The seq the next stored message gets (an accept numbers its messages before inserting them)
SELECT coalesce(max(seq), 0) + 1 FROM messages

-- insert_messages --
-- Messages, many rows a statement: {columns} names the columns written, {picked} selects a `?`
-- for each that the whole batch shares (bound once a statement), then the VALUES columns of
-- the others, bound once a row ({rows}: that many `(?, ...)`). Binding 50,000 rows' shared
-- values and NULLs one by one took twice as long, so this statement is made per batch shape
-- (sqlite.MessageColumns); SQLite caps the parameters of one statement, hence many rows.
INSERT INTO messages ({columns}) SELECT {picked} FROM (VALUES {rows})

-- insert_new_messages --
-- insert_messages, leaving out a row whose client reference is stored already (the caller
-- counts what went in). "WHERE true" ends the SELECT: SQLite would read ON as a join's.
INSERT INTO messages ({columns}) SELECT {picked} FROM (VALUES {rows}) WHERE true
ON CONFLICT (account_id, dialect, client_ref) WHERE client_ref IS NOT NULL DO NOTHING

-- job_insert --
-- A bulk request's job, with the seq range its messages were stored in (schema version 2)
INSERT INTO jobs (id, account_id, dialect, client_ref, total, created_at, meta, first_seq,
                  last_seq)
VALUES (:id, :account_id, :dialect, :client_ref, :total, :created_at, :meta, :first, :last)


-- message_by_id --
-- One message of an account
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages WHERE id = ? AND account_id = ?

-- messages_by_ids --
-- An account's messages among a JSON array of ids. (`+account_id`: the id index, not the
-- account's, which the planner would otherwise scan whole.)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND +account_id = ?

-- message_by_ref --
-- An account's message of one dialect by its client reference
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages WHERE account_id = ? AND dialect = ? AND client_ref = ?

-- message_by_seq --
-- One message of an account by its number
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages WHERE seq = ? AND account_id = ?

-- owner_by_seq --
-- Whose message a number is
SELECT account_id FROM messages WHERE seq = ?

-- message_by_carrier_id --
-- The latest message a carrier gave this id
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages WHERE carrier_id = ? ORDER BY seq DESC LIMIT 1

-- messages_list --
-- A page of an account's messages after a seq, each filter NULL or one value. A job's messages
-- lie in the seq range its accept stored them in (schema version 2: no index on job_id); with
-- no job (or a job without a range) the range is everything.
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE account_id = :account_id AND seq > :after_seq
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = :job_id), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = :job_id), 9223372036854775807)
  AND (:job_id IS NULL OR job_id = :job_id)
  AND (:status IS NULL OR status = :status)
  AND (:phone IS NULL OR phone = :phone)
  AND (:dialect IS NULL OR dialect = :dialect)
  AND (:since IS NULL OR created_at >= :since)
  AND (:until IS NULL OR created_at < :until)
ORDER BY seq LIMIT :limit

-- job_by_id --
-- One job of an account
SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs
WHERE id = ? AND account_id = ?

-- job_counts --
-- How many of a job's messages are in each status (searched in the job's seq range)
SELECT status, count(*) FROM messages
WHERE job_id = :job_id AND account_id = :account_id
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = :job_id), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = :job_id), 9223372036854775807)
GROUP BY status

-- job_messages --
-- A page of a job's messages after a seq (searched in the job's seq range)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE job_id = :job_id AND account_id = :account_id AND seq > :after_seq
  AND seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = :job_id), 0)
              AND coalesce((SELECT last_seq FROM jobs WHERE id = :job_id), 9223372036854775807)
ORDER BY seq LIMIT :limit

-- events_of --
-- A message's status history
SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events
WHERE message_id = ? AND account_id = ? ORDER BY seq

-- events_after --
-- Every account's status events after a seq, in order
SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events
WHERE seq > ? ORDER BY seq LIMIT ?

-- events_last --
-- The last status event's seq (0: none): `tail` starts after it
SELECT coalesce(max(seq), 0) FROM events

-- events_start_since --
-- The seq just before the first event at or after a time (`tail --since`); the last seq when
-- none is that recent. No index on `at`: one scan, once per tail
SELECT coalesce(min(seq) - 1, (SELECT coalesce(max(seq), 0) FROM events)) FROM events
WHERE at >= ?

-- mo_list --
-- A page of an account's incoming SMS after a seq
SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta FROM mo_messages
WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?

-- counts --
-- Messages waiting (scheduled; accepted or queued) and callbacks pending, each answered by a
-- partial index (messages_scheduled, messages_due, outbox_due)
SELECT (SELECT count(*) FROM messages WHERE status = 'scheduled'),
       (SELECT count(*) FROM messages WHERE status IN ('accepted', 'queued')),
       (SELECT count(*) FROM outbox WHERE state = 'pending')


-- any_due --
-- Whether claim_due would find anything, asked of the committed state before taking the write
-- lock: a due schedule (messages_scheduled), or a message not yet claimed (messages_due)
SELECT 1 WHERE EXISTS (SELECT 1 FROM messages WHERE status = 'scheduled' AND not_before <= ?)
    OR EXISTS (SELECT 1 FROM messages WHERE status IN ('accepted', 'queued')
                                        AND dispatch_token IS NULL)

-- schedule_due --
-- Scheduled messages whose time has come join the queue
UPDATE messages SET status = 'queued', updated_at = :now
WHERE status = 'scheduled' AND not_before <= :now

-- due_messages --
-- Unclaimed messages in priority order, as the lease that follows leaves them (status
-- 'queued'). With no account to skip: the `json_each` filter below cost ~30 µs a claim even
-- when empty
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, 'queued', error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE status IN ('accepted', 'queued') AND dispatch_token IS NULL
ORDER BY priority DESC, seq LIMIT ?

-- due_messages_skipping --
-- due_messages but those of the accounts in a JSON array (at their rate limit)
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, 'queued', error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE status IN ('accepted', 'queued') AND dispatch_token IS NULL
  AND account_id NOT IN (SELECT value FROM json_each(?))
ORDER BY priority DESC, seq LIMIT ?

-- lease --
-- The claimed messages (a JSON array of seqs), leased to a dispatcher: one statement, where one
-- a message (executemany) cost 3.7 µs a message against 2.5 (100-message claims, isolated)
UPDATE messages SET dispatch_token = ?, lease_until = ?, status = 'queued'
WHERE seq IN (SELECT value FROM json_each(?))

-- release --
-- A claimed message given back, in the status the rules say, if nothing moved it meanwhile
UPDATE messages SET dispatch_token = NULL, lease_until = NULL, not_before = ?, status = ?
WHERE id = ? AND status IN ('accepted', 'queued', 'scheduled')

-- claimed_by_others --
-- Queued messages another dispatcher holds whose lease has lapsed
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta
FROM messages
WHERE status = 'queued' AND dispatch_token IS NOT NULL AND dispatch_token != ?
  AND lease_until < ?


-- messages_by_any_ids --
-- The messages of a JSON array of distinct ids, whoever owns them (reports)
SELECT m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone, m.text,
       m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.window, m.flash, m.tag,
       m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta
FROM json_each(?) AS w CROSS JOIN messages AS m ON m.id = w.value

-- message_to_cancel --
-- One message of an account, and whether a dispatcher holds it
SELECT seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,
       priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,
       price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta,
       dispatch_token IS NOT NULL
FROM messages WHERE id = ? AND account_id = ?

-- move --
-- A message's state after a batch of reports, if the row is still in the status the batch
-- found it in: the lease cleared if it left the dispatcher, a confidential text blanked if it
-- was handed over or is final. Parameters: status, error code, updated_at, carrier id,
-- submitted_at, done_at, seq, clear lease, blank text, the status it moves from.
UPDATE messages
SET status = ?1, error_code = ?2, updated_at = ?3, carrier_id = coalesce(?4, carrier_id),
    submitted_at = ?5, done_at = ?6,
    dispatch_token = CASE WHEN ?8 THEN NULL ELSE dispatch_token END,
    lease_until = CASE WHEN ?8 THEN NULL ELSE lease_until END,
    text = CASE WHEN confidential = 1 AND ?9 THEN '' ELSE text END
WHERE seq = ?7 AND status = ?10

-- move_same_carrier --
-- move for a message whose carrier id the batch keeps: the column left out of the update, so
-- that SQLite leaves its index alone (a receipt's move: 18% less than move's, isolated).
-- Parameters: as move's (the carrier id, ?4, unused: sqlite3 binds by the highest number)
UPDATE messages
SET status = ?1, error_code = ?2, updated_at = ?3, submitted_at = ?5, done_at = ?6,
    dispatch_token = CASE WHEN ?8 THEN NULL ELSE dispatch_token END,
    lease_until = CASE WHEN ?8 THEN NULL ELSE lease_until END,
    text = CASE WHEN confidential = 1 AND ?9 THEN '' ELSE text END
WHERE seq = ?7 AND status = ?10

-- carrier_id_learnt --
-- A carrier id reported without a change of status
UPDATE messages SET carrier_id = ? WHERE seq = ?

-- next_event_seq --
-- The seq the next status event gets
SELECT coalesce(max(seq), 0) + 1 FROM events

-- event_insert_next --
-- A status event numbered by SQLite: its seq is the rowid (INTEGER PRIMARY KEY), which an
-- insert without one makes one past the largest, as next_event_seq; so rows inserted in turn
-- in one transaction are numbered on from what next_event_seq said
INSERT INTO events (message_id, account_id, status, error_code, carrier_error, at)
VALUES (?, ?, ?, ?, ?, ?)

-- event_insert_next_rows --
-- event_insert_next's rows, {rows} (that many `(?, ...)`) a statement (sqlite_reports.grouped)
INSERT INTO events (message_id, account_id, status, error_code, carrier_error, at)
VALUES {rows}


-- mo_insert --
-- An incoming SMS (its seq is the cursor's lastrowid)
INSERT INTO mo_messages (id, account_id, phone, to_number, text, received_at, reply_to, meta)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)


-- callback_insert --
-- A callback owed to a client (rules.OutboxRow: event id, account, dialect, kind, URL, payload,
-- when, due and created); the same event to the same URL again: nothing
INSERT OR IGNORE INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at,
                              created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)

-- callback_insert_rows --
-- callback_insert's rows, {rows} (that many `(?, ...)`, seven each) a statement
-- (sqlite_reports.insert_rows): 2.8 µs a row against 3.5-3.7 one row a step (128 a batch,
-- isolated)
INSERT OR IGNORE INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at,
                              created_at)
SELECT column1, column2, column3, column4, column5, column6, column7, column7
FROM (VALUES {rows})

-- outbox_any_due --
-- Whether outbox_due would find anything (asked before taking the write lock). A scope:
-- :only, a JSON array of the dialects delivered (NULL: all), :skip, those never delivered.
SELECT 1 FROM outbox
WHERE state = 'pending' AND next_at <= :now AND (lease_until IS NULL OR lease_until < :now)
  AND (:only IS NULL OR dialect IN (SELECT value FROM json_each(:only)))
  AND dialect NOT IN (SELECT value FROM json_each(:skip))
LIMIT 1

-- outbox_due --
-- Due callbacks of a scope (as outbox_any_due), oldest first, as a claim takes them under the
-- write lock: each one's id and the message its event names (NULL for an incoming SMS), whose
-- other callbacks (outbox_chains) the claim reads once per message. Two columns, not the 25
-- the callback is rendered from (outbox_claimed, read after the commit): Python's sqlite3
-- releases the GIL around every column it fetches, and on the writer thread each release let
-- the notifier's loop keep the GIL, and every process's commits waited for the lock meanwhile.
-- The index outbox_due holds the dialect, so rows of other dialects are skipped unread
SELECT o.id, e.message_id
FROM outbox o
LEFT JOIN events e ON o.kind = 'dr' AND e.seq = CAST(substr(o.event_id, 4) AS INTEGER)
WHERE o.state = 'pending' AND o.next_at <= :now
  AND (o.lease_until IS NULL OR o.lease_until < :now)
  AND (:only IS NULL OR o.dialect IN (SELECT value FROM json_each(:only)))
  AND o.dialect NOT IN (SELECT value FROM json_each(:skip))
ORDER BY o.next_at, o.id LIMIT :limit

-- outbox_claimed --
-- The callbacks :ids (a JSON array) a claim leased, read after its commit, each with its event
-- ('ev-<seq>') or its incoming SMS ('mo-<id>'): the 9 columns of rows.outbox_from_row, the
-- event's 7 and the incoming SMS's 9 (NULL where it has none). The event names the message
-- whose row (messages_by_any_ids) the claim reads once per message, not once per callback
SELECT o.id, o.event_id, o.account_id, o.dialect, o.kind, o.url, o.payload, o.attempts,
       o.created_at,
       e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at,
       r.seq, r.id, r.account_id, r.phone, r.to_number, r.text, r.received_at, r.reply_to, r.meta
FROM json_each(:ids) AS w
CROSS JOIN outbox o ON o.id = w.value
LEFT JOIN events e ON o.kind = 'dr' AND e.seq = CAST(substr(o.event_id, 4) AS INTEGER)
LEFT JOIN mo_messages r ON o.kind = 'mo' AND r.id = substr(o.event_id, 4)

-- outbox_chains --
-- The owed callbacks of the messages :messages (a JSON array of ids), through their events,
-- as rules.Sibling: id, message, state, next_at, lease_until, lease_owner. Settled ones hold
-- nothing back (rules.order_claim), so they are not read; nor are the claim's own :claimed (a
-- JSON array of ids), which the claim knows already: most messages owe nothing else
SELECT o.id, e.message_id, o.state, o.next_at, o.lease_until, o.lease_owner
FROM json_each(:messages) AS w
JOIN events e ON e.message_id = w.value
JOIN outbox o ON o.event_id = 'ev-' || e.seq
WHERE o.state = 'pending' AND o.id NOT IN (SELECT value FROM json_each(:claimed))

-- outbox_lease --
-- Claimed callbacks :ids (a JSON array), leased to their notifier :owner until :until
UPDATE outbox SET lease_until = :until, lease_owner = :owner
WHERE id IN (SELECT value FROM json_each(:ids))

-- outbox_unlease --
-- Free every lease on pending callbacks of a scope (its only notifier restarted)
UPDATE outbox SET lease_until = NULL
WHERE state = 'pending' AND lease_until IS NOT NULL
  AND (:only IS NULL OR dialect IN (SELECT value FROM json_each(:only)))
  AND dialect NOT IN (SELECT value FROM json_each(:skip))

-- outbox_done --
-- A callback the client took, with the attempt that delivered it (NULLs: none given): its id,
-- when, then its done_attempt, done_started_at, done_host, done_status and done_took_ms
UPDATE outbox SET state = 'done', done_at = ?2, attempts = attempts + 1, lease_until = NULL,
                  done_attempt = ?3, done_started_at = ?4, done_host = ?5, done_status = ?6,
                  done_took_ms = ?7
WHERE id = ?1

-- outbox_done_rows --
-- outbox_done's rows, {rows} (that many `(?, ...)`, seven each) a statement
-- (sqlite_reports.insert_rows). Each step of a statement lets the GIL go, and the marks run
-- on the writer thread whenever another process holds the lock: each release there waited
-- for the loop to give the GIL back, the lock held meanwhile. Also 1.63 µs a row against
-- 2.22 one row a step (300 rows, isolated); a JSON array read by json_each took 2.60
UPDATE outbox SET state = 'done', done_at = d.column2, attempts = attempts + 1,
                  lease_until = NULL, done_attempt = d.column3, done_started_at = d.column4,
                  done_host = d.column5, done_status = d.column6, done_took_ms = d.column7
FROM (VALUES {rows}) AS d
WHERE outbox.id = d.column1

-- outbox_retry --
-- A failed callback, tried again later
UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?, lease_until = NULL
WHERE id = ?

-- outbox_defer --
-- A callback held back (to fill a batch), no attempt counted
UPDATE outbox SET next_at = ?, lease_until = NULL WHERE id = ?

-- outbox_dead --
-- A callback given up on
UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, lease_until = NULL
WHERE id = ?

-- outbox_items --
-- Callbacks in id order, of one account and in one state (each NULL: any), with the rows their
-- payload is rendered from (store/callback_rows.py: its event and that event's message, or
-- its incoming SMS; a payload stored with the row, by a version that stored them, wins)
SELECT o.id, o.event_id, o.account_id, o.dialect, o.kind, o.url, o.payload, o.attempts,
       o.created_at,
       e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at,
       m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone,
       m.text, m.encoding, m.segments, m.priority, m.not_before, m.expires_at, m.window, m.flash,
       m.tag, m.callback_url, m.status, m.error_code, m.price, m.created_at, m.updated_at,
       m.submitted_at, m.done_at, m.carrier_id, m.confidential, m.meta,
       r.seq, r.id, r.account_id, r.phone, r.to_number, r.text, r.received_at, r.reply_to, r.meta
FROM outbox o
LEFT JOIN events e ON o.kind = 'dr' AND e.seq = CAST(substr(o.event_id, 4) AS INTEGER)
LEFT JOIN messages m ON m.id = e.message_id
LEFT JOIN mo_messages r ON o.kind = 'mo' AND r.id = substr(o.event_id, 4)
WHERE (:account_id IS NULL OR o.account_id = :account_id) AND (:state IS NULL OR o.state = :state)
ORDER BY o.id

-- callbacks_of --
-- The callbacks owed for a message's events (outbox_event finds each event's rows)
SELECT event_id, dialect, state, attempts, last_error FROM outbox
WHERE account_id = ?2
  AND event_id IN (SELECT 'ev-' || seq FROM events WHERE message_id = ?1 AND account_id = ?2)
ORDER BY id

-- outbox_backlog --
-- Pending callbacks per dialect (the partial index outbox_due holds the dialect)
SELECT dialect, count(*) FROM outbox WHERE state = 'pending' GROUP BY dialect

-- purge_outbox_window --
-- The purge's next window of outbox rows (store/retention.py): the rows after :after, at most
-- :chunk, by id; how many, the last id, how many were created before :before
SELECT count(*), coalesce(max(id), :after), coalesce(sum(created_at < :before), 0)
FROM (SELECT id, created_at FROM outbox WHERE id > :after ORDER BY id LIMIT :chunk)

-- purge_outbox --
-- Forget the delivered and dead callbacks of a window settled before :before
DELETE FROM outbox
WHERE id > :after AND id <= :last
  AND state IN ('done', 'dead') AND coalesce(done_at, next_at) < :before

-- purge_connector_log_window --
-- The purge's next window of connector-log lines, as purge_outbox_window
SELECT count(*), coalesce(max(seq), :after), coalesce(sum(submitted_at < :before), 0)
FROM (SELECT seq, submitted_at FROM connector_log WHERE seq > :after ORDER BY seq LIMIT :chunk)

-- purge_connector_log --
-- Forget the settled lines of a window submitted before :before: marked reported, or whose
-- message is final (done_at set: Store.connector_log_pending)
DELETE FROM connector_log
WHERE seq > :after AND seq <= :last AND submitted_at < :before
  AND (reported = 1
       OR EXISTS (SELECT 1 FROM messages AS m
                  WHERE m.id = connector_log.message_id AND m.done_at IS NOT NULL))


-- connector_log_add --
-- A message handed to a connector, with the carrier's id
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome, report_due)
VALUES (?, ?, ?, ?, ?, ?)

-- connector_log_add_rows --
-- connector_log_add's rows, {rows} a statement (sqlite_reports.insert_rows)
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome, report_due)
VALUES {rows}

-- connector_log_find --
-- A connector's lines for the messages in a JSON array of ids, in order
SELECT message_id, carrier_id, submitted_at, outcome, report_due FROM connector_log
WHERE connector = ? AND message_id IN (SELECT value FROM json_each(?)) ORDER BY seq

-- connector_log_pending --
-- A connector's lines whose report is still owed, soonest due first: not marked reported, and
-- the message not final (done_at set: Store.connector_log_pending)
SELECT c.message_id, c.carrier_id, c.submitted_at, c.outcome, c.report_due
FROM connector_log AS c
WHERE c.connector = ? AND c.reported = 0
  AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = c.message_id AND m.done_at IS NOT NULL)
ORDER BY c.report_due LIMIT ?

-- connector_log_reported --
-- A connector's line whose report came
UPDATE connector_log SET reported = 1 WHERE connector = ? AND message_id = ?
