-- Version 21 (PostgreSQL): a claim starts at a floor on `seq` (store/claim_floor.py), past the
-- entries of the messages it already sent, which stay in messages_due until their old versions
-- can be pruned. As `seq >= $5` that bound was planned on messages_seq (a walk of every row
-- numbered above the floor, sent or not, then a sort: worse than the walk it replaced, as the
-- statistics of a growing table place few rows above any recent number). messages_due's second
-- key is now `seq + 0`, an expression no other index has, and the claim orders and bounds by
-- it: the bound is an index condition of messages_due alone. The partial index is small (the
-- messages due and in flight), so it is rebuilt at once.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages(priority DESC, (seq + 0)) WHERE queue = 'due'
