-- Version 6: every attempt at delivering a callback (store/base.py: CallbackAttempt), written
-- by the notifier with the outbox mark that follows it and purged with its outbox row;
-- `outcome` is what became of the row (done, retry, dead). Keyed by its outbox row, so that a
-- message's page and the purge find them in the key's order (WITHOUT ROWID: the key is the
-- table; no second index to write per attempt). The URL's host only: its path and query may
-- hold a client's secret.
CREATE TABLE callback_attempts (
    outbox_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    started_at REAL NOT NULL,
    host TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    took_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
) WITHOUT ROWID;
