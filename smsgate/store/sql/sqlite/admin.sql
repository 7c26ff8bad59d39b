-- The operator console's statements (smsgate/store/sqlite_admin.py): admin users, sessions,
-- login rate-limit buckets, the balance ledger and the audit log. Admin users are read as
-- (id, username, role, created_at), then password_hash where the login needs it.

-- admin_insert --
-- A new admin user (the unique user name refuses a second one)
INSERT INTO admin_users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)

-- admin_by_name --
-- One admin user, with its password hash, by user name
SELECT id, username, role, created_at, password_hash FROM admin_users WHERE username = ?

-- admin_all --
-- Every admin user, by name
SELECT id, username, role, created_at FROM admin_users ORDER BY username

-- admin_delete --
-- Remove an admin user (its sessions go with it: ON DELETE CASCADE)
DELETE FROM admin_users WHERE username = ?

-- admin_set_password --
-- A user's new password hash
UPDATE admin_users SET password_hash = ? WHERE username = ?

-- admin_set_role --
-- A user's new role
UPDATE admin_users SET role = ? WHERE username = ?

-- admin_sessions_end_user --
-- End every session of a user (its password changed)
DELETE FROM admin_sessions
WHERE user_id = (SELECT id FROM admin_users WHERE username = ?)

-- admin_session_insert --
-- A new session, by the SHA-256 of its token
INSERT INTO admin_sessions (key, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)

-- admin_session_user --
-- The user of a session and when the session ends (the caller decides whether it is live)
SELECT u.id, u.username, u.role, u.created_at, s.expires_at
FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
WHERE s.key = ?

-- admin_session_delete --
-- End one session (logout)
DELETE FROM admin_sessions WHERE key = ?

-- admin_sessions_purge --
-- Forget sessions that ended before a time (housekeeping when a session starts)
DELETE FROM admin_sessions WHERE expires_at < ?

-- admin_buckets_of --
-- The login rate-limit buckets of some keys (a JSON array)
SELECT key, tokens, updated_at FROM admin_login_buckets
WHERE key IN (SELECT value FROM json_each(?))

-- admin_bucket_put --
-- One bucket as the throttle rule left it
INSERT INTO admin_login_buckets (key, tokens, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at

-- admin_buckets_purge --
-- Forget buckets untouched since a time (they would be full again by now)
DELETE FROM admin_login_buckets WHERE updated_at < ?

-- ledger_balance --
-- An account's balance, read in the transaction that writes the ledger entry
SELECT balance FROM accounts WHERE id = ?

-- ledger_set_balance --
-- The balance the ledger rule computed
UPDATE accounts SET balance = ? WHERE id = ?

-- ledger_insert --
-- One ledger entry
INSERT INTO ledger (account_id, kind, amount, balance_after, reason, actor, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- ledger_of --
-- An account's ledger entries, newest first, before an id (a cursor)
SELECT id, account_id, kind, amount, balance_after, reason, actor, created_at
FROM ledger WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?

-- audit_insert --
-- One audit entry
INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)

-- audit_before --
-- Audit entries, newest first, before an id (a cursor)
SELECT id, at, actor, action, target, details FROM audit_log
WHERE id < ? ORDER BY id DESC LIMIT ?

-- audit_of_target --
-- Audit entries about one target ("account:12"), newest first, before an id
SELECT id, at, actor, action, target, details FROM audit_log
WHERE target = ? AND id < ? ORDER BY id DESC LIMIT ?

-- callback_backlog_by_account --
-- Pending callbacks per account (the console's status view)
SELECT account_id, count(*) FROM outbox WHERE state = 'pending' GROUP BY account_id
