-- Version 14 (PostgreSQL): the row types of a checked report write (`reports_write`,
-- postgres_reports.py) and of connector-log lines, as migration 13 made one for a new message. The write went as 24
-- arrays, one a column (ten of the moves, seven of the events, seven of the callbacks): asyncpg
-- checks every element of an array it encodes against three abstract base classes (in
-- Python), so each message's two reports cost about 80 checks in the engine's process. As
-- three arrays of rows, it checks one element a row.
-- A move: the state a report leaves its message in, whether the lease goes and the text is
-- blanked, and the status it was planned from (the write applies it only if still so).
CREATE TYPE report_move AS (
    id TEXT,
    status TEXT,
    error_code TEXT,
    updated_at DOUBLE PRECISION,
    carrier_id TEXT,
    submitted_at DOUBLE PRECISION,
    done_at DOUBLE PRECISION,
    clear BOOLEAN,
    blank BOOLEAN,
    was TEXT
);
-- A status event, numbered: the columns of `events`.
CREATE TYPE event_in AS (
    seq BIGINT,
    message_id TEXT,
    account_id BIGINT,
    status TEXT,
    error_code TEXT,
    carrier_error TEXT,
    at DOUBLE PRECISION
);
-- A callback owed (rules.OutboxRow): event, account, dialect, kind, URL, payload, due.
CREATE TYPE outbox_in AS (
    event_id TEXT,
    account_id BIGINT,
    dialect TEXT,
    kind TEXT,
    url TEXT,
    payload BYTEA,
    due DOUBLE PRECISION
);
-- A connector-log line and its connector (base.LogLine): the columns `connector_log` is
-- written with. The lines a dispatcher's SUBMITTED acknowledges go in its checked write.
CREATE TYPE log_line_in AS (
    connector TEXT,
    message_id TEXT,
    carrier_id TEXT,
    submitted_at DOUBLE PRECISION,
    outcome TEXT,
    report_due DOUBLE PRECISION
)
