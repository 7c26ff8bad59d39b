-- The operator console's statements (smsgate/store/postgres_admin.py): admin users, sessions,
-- login rate-limit buckets, the balance ledger and the audit log. Admin users are read as
-- (id, username, role, created_at), then password_hash where the login needs it.

-- admin_insert --
-- A new admin user (the unique user name refuses a second one)
INSERT INTO admin_users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
RETURNING id

-- admin_by_name --
-- One admin user, with its password hash, by user name
SELECT id, username, role, created_at, password_hash FROM admin_users WHERE username = $1

-- admin_all --
-- Every admin user, by name
SELECT id, username, role, created_at FROM admin_users ORDER BY username

-- admin_delete --
-- Remove an admin user (its sessions go with it: ON DELETE CASCADE)
DELETE FROM admin_users WHERE username = $1

-- admin_set_password --
-- A user's new password hash
UPDATE admin_users SET password_hash = $1 WHERE username = $2

-- admin_set_role --
-- A user's new role
UPDATE admin_users SET role = $1 WHERE username = $2

-- admin_sessions_end_user --
-- End every session of a user (its password changed)
DELETE FROM admin_sessions
WHERE user_id = (SELECT id FROM admin_users WHERE username = $1)

-- admin_session_insert --
-- A new session, by the SHA-256 of its token
INSERT INTO admin_sessions (key, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)

-- admin_session_user --
-- The user of a session and when the session ends (the caller decides whether it is live)
SELECT u.id, u.username, u.role, u.created_at, s.expires_at
FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
WHERE s.key = $1

-- admin_session_delete --
-- End one session (logout)
DELETE FROM admin_sessions WHERE key = $1

-- admin_sessions_purge --
-- Forget sessions that ended before a time (housekeeping when a session starts)
DELETE FROM admin_sessions WHERE expires_at < $1

-- admin_bucket_seed --
-- A full bucket for a key never seen, so that there is a row to lock
INSERT INTO admin_login_buckets (key, tokens, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING

-- admin_buckets_of --
-- The login rate-limit buckets of some keys, locked until the attempt is counted
SELECT key, tokens, updated_at FROM admin_login_buckets
WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE

-- admin_bucket_put --
-- One bucket as the throttle rule left it
INSERT INTO admin_login_buckets (key, tokens, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at

-- admin_buckets_purge --
-- Forget buckets untouched since a time (they would be full again by now)
DELETE FROM admin_login_buckets WHERE updated_at < $1

-- ledger_balance --
-- An account's balance, locked until the ledger entry is written
SELECT balance FROM accounts WHERE id = $1 FOR UPDATE

-- ledger_set_balance --
-- The balance the ledger rule computed
UPDATE accounts SET balance = $1 WHERE id = $2

-- ledger_insert --
-- One ledger entry
INSERT INTO ledger (account_id, kind, amount, balance_after, reason, actor, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id

-- ledger_of --
-- An account's ledger entries, newest first, before an id (a cursor)
SELECT id, account_id, kind, amount, balance_after, reason, actor, created_at
FROM ledger WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3

-- audit_insert --
-- One audit entry
INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)

-- audit_before --
-- Audit entries, newest first, before an id (a cursor)
SELECT id, at, actor, action, target, details FROM audit_log
WHERE id < $1 ORDER BY id DESC LIMIT $2

-- audit_of_target --
-- Audit entries about one target ("account:12"), newest first, before an id
SELECT id, at, actor, action, target, details FROM audit_log
WHERE target = $1 AND id < $2 ORDER BY id DESC LIMIT $3

-- callback_backlog_by_account --
-- Pending callbacks per account (the console's status view)
SELECT account_id, count(*) FROM outbox WHERE state = 'pending' GROUP BY account_id
