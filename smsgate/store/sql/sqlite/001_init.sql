-- smsgate schema, version 1 (SQLite). Times are UNIX seconds (REAL); money is integer micro-units.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    price INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    tps INTEGER NOT NULL DEFAULT 0,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    active INTEGER NOT NULL DEFAULT 1,
    ip_allowlist TEXT NOT NULL DEFAULT '[]',
    callback_urls TEXT NOT NULL DEFAULT '{}',
    settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);

CREATE TABLE credentials (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    dialect TEXT NOT NULL,
    kind TEXT NOT NULL,
    identifier TEXT NOT NULL,
    secret TEXT NOT NULL,
    PRIMARY KEY (dialect, kind, identifier)
);
CREATE INDEX credentials_account ON credentials(account_id);

CREATE TABLE senders (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- account_id 0: the global stop list.
CREATE TABLE stoplist (
    account_id INTEGER NOT NULL,
    phone TEXT NOT NULL,
    PRIMARY KEY (account_id, phone)
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    dialect TEXT NOT NULL,
    client_ref TEXT,
    total INTEGER NOT NULL,
    created_at REAL NOT NULL,
    meta TEXT
);
CREATE INDEX jobs_account ON jobs(account_id, created_at);

CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    dialect TEXT NOT NULL,
    client_ref TEXT,
    job_id TEXT,
    sender TEXT,
    phone TEXT NOT NULL,
    text TEXT NOT NULL,
    encoding TEXT NOT NULL,
    segments INTEGER NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    not_before REAL,
    expires_at REAL,
    window TEXT,
    flash INTEGER NOT NULL DEFAULT 0,
    tag TEXT,
    callback_url TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    price INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    submitted_at REAL,
    done_at REAL,
    carrier_id TEXT,
    confidential INTEGER NOT NULL DEFAULT 0,
    meta TEXT,
    dispatch_token TEXT,
    lease_until REAL
);
-- One message per client reference per account and dialect: the idempotency guarantee.
CREATE UNIQUE INDEX messages_client_ref ON messages(account_id, dialect, client_ref)
    WHERE client_ref IS NOT NULL;
CREATE INDEX messages_account ON messages(account_id, seq);
CREATE INDEX messages_job ON messages(job_id) WHERE job_id IS NOT NULL;
CREATE INDEX messages_carrier ON messages(carrier_id) WHERE carrier_id IS NOT NULL;
-- The dispatcher's work list: only messages not yet handed to a connector.
CREATE INDEX messages_due ON messages(priority DESC, seq)
    WHERE status IN ('accepted', 'queued');
-- Scheduled messages wait here until their time: the scheduler's range scan.
CREATE INDEX messages_scheduled ON messages(not_before) WHERE status = 'scheduled';

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    carrier_error TEXT,
    at REAL NOT NULL
);
CREATE INDEX events_message ON events(message_id, seq);

CREATE TABLE mo_messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    phone TEXT NOT NULL,
    to_number TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at REAL NOT NULL,
    reply_to TEXT,
    meta TEXT
);
CREATE INDEX mo_account ON mo_messages(account_id, seq);

-- The notifier's durable outbox: one row per callback still owed to a client.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    dialect TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    created_at REAL NOT NULL,
    done_at REAL,
    lease_until REAL
);
CREATE UNIQUE INDEX outbox_event ON outbox(event_id, dialect, url);
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'pending';

-- What each connector was handed: lets a restarted dispatcher ask "did the carrier get it?".
CREATE TABLE connector_log (
    seq INTEGER PRIMARY KEY,
    connector TEXT NOT NULL,
    message_id TEXT NOT NULL,
    carrier_id TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    outcome TEXT,
    report_due REAL,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX connector_log_message ON connector_log(connector, message_id);
CREATE INDEX connector_log_pending ON connector_log(connector, report_due) WHERE reported = 0;
