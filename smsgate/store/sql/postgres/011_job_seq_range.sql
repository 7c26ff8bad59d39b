-- Version 11 (PostgreSQL): a job's messages are found by the range of seq they were stored in
-- (jobs.first_seq, jobs.last_seq), as SQLite's version 2 does, instead of an index on
-- messages.job_id that every message of every bulk paid for: about a tenth of the server's
-- work on a 50,000-row COPY, where index entries are most of it. One accept stores a job's
-- messages in one transaction; other transactions' messages may take numbers inside its
-- range (one sequence serves all), none of the job's lies outside it. Queries still check
-- job_id: the range only bounds the walk of messages_account (or messages_seq).
-- It was numbered 8 for a few hours of development, after 9 and 10 had been applied to some
-- databases, which therefore never ran it; as 11 it reaches them too, and a database that
-- did run it as 8 runs it again to no effect.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS first_seq BIGINT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS last_seq BIGINT;
UPDATE jobs SET first_seq = r.first, last_seq = r.last
FROM (SELECT job_id, min(seq) AS first, max(seq) AS last FROM messages
      WHERE job_id IS NOT NULL GROUP BY job_id) AS r
WHERE r.job_id = jobs.id AND jobs.first_seq IS NULL;
DROP INDEX IF EXISTS messages_job;
