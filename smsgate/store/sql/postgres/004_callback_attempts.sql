-- Version 4: every attempt at delivering a callback (store/base.py: CallbackAttempt), written
-- by the notifier with the outbox mark that follows it (one statement) and purged with its
-- outbox row; `outcome` is what became of the row (done, retry, dead). Keyed by its outbox
-- row: a message's page and the purge find them by the key.
-- The URL's host only: its path and query may hold a client's secret.
CREATE TABLE callback_attempts (
    outbox_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    account_id BIGINT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    host TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    took_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);
