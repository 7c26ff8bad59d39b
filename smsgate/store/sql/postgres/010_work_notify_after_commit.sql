-- Version 10: wake-ups leave the accept's transaction. A NOTIFY takes one lock for the whole
-- server at commit and holds it through the commit's WAL flush, so every transaction that
-- added messages committed one after another: concurrent accepts could not share a flush
-- (pg_stat_activity: `Lock:object` on COMMIT). The store now notifies after the commit, in a
-- statement of its own (smsgate/store/postgres.py, `work_notify`).
DROP TRIGGER messages_work ON messages;
DROP FUNCTION smsgate_notify_work()
