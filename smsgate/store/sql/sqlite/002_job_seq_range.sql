-- Version 2 (SQLite): a job's messages are found by the range of seq they were stored in,
-- instead of an index on messages.job_id that every message of every bulk paid for. One
-- accept stores a job's messages in one transaction with consecutive seq; queries still
-- check job_id, so the range only bounds the search.
ALTER TABLE jobs ADD COLUMN first_seq INTEGER;
ALTER TABLE jobs ADD COLUMN last_seq INTEGER;
UPDATE jobs SET
    first_seq = (SELECT min(seq) FROM messages WHERE messages.job_id = jobs.id),
    last_seq = (SELECT max(seq) FROM messages WHERE messages.job_id = jobs.id);
DROP INDEX messages_job;
