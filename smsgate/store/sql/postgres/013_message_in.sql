-- Version 13 (PostgreSQL): the row type of a new message as an accept sends it. A group's
-- messages go to the server as one array of these rows, where they went as 24 arrays, one a
-- column: asyncpg checks every element of an array it encodes against three abstract base
-- classes (in Python), about 36 checks a message, a tenth of a worker's CPU a single send.
-- The columns are `messages`' that an accept writes, in postgres.py's COPY_COLUMNS order.
CREATE TYPE message_in AS (
    id TEXT,
    account_id BIGINT,
    dialect TEXT,
    client_ref TEXT,
    job_id TEXT,
    sender TEXT,
    phone TEXT,
    text TEXT,
    encoding TEXT,
    segments INTEGER,
    priority INTEGER,
    not_before DOUBLE PRECISION,
    expires_at DOUBLE PRECISION,
    send_window TEXT,
    flash BOOLEAN,
    tag TEXT,
    callback_url TEXT,
    status TEXT,
    error_code TEXT,
    price BIGINT,
    created_at DOUBLE PRECISION,
    updated_at DOUBLE PRECISION,
    confidential BOOLEAN,
    meta TEXT
)
