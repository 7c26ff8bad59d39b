-- The statements of the PostgreSQL debits (smsgate/store/postgres_debits.py), by name.
-- An account's balance is its row's (`accounts.balance`, the free part) plus its slices'
-- (`balance_slices`): accepts debit a slice they hold alone, and touch the row only to refill
-- one. Locks are taken in one order: an account's row, then its slices (docs/operations.md).

-- slices_take --
-- For each account ($1) a free slice holding at least what the group may debit ($2), locked:
-- slices other transactions hold are passed over, so an account's accepts never queue on each
-- other. An account without such a slice is not in the answer.
SELECT o.account_id, s.id, s.amount
FROM unnest($1::int8[], $2::int8[]) AS o(account_id, owed)
CROSS JOIN LATERAL (
    SELECT id, amount FROM balance_slices
    WHERE account_id = o.account_id AND amount >= o.owed
    LIMIT 1 FOR UPDATE SKIP LOCKED
) AS s

-- slices_take_and_stops --
-- `slices_take` ($1, $2), and in the same round trip the accept's other read: which of the
-- (account $3, phone $4) pairs are stopped, by the account's list or the global one (0), as
-- rows (list, NULL, NULL, phone) (queries.sql, stoplist_match)
SELECT o.account_id, s.id, s.amount, NULL::text
FROM unnest($1::int8[], $2::int8[]) AS o(account_id, owed)
CROSS JOIN LATERAL (
    SELECT id, amount FROM balance_slices
    WHERE account_id = o.account_id AND amount >= o.owed
    LIMIT 1 FOR UPDATE SKIP LOCKED
) AS s
UNION ALL
SELECT s.account_id, NULL, NULL, s.phone
FROM unnest($3::int8[], $4::text[]) AS p(account_id, phone)
CROSS JOIN LATERAL (
    SELECT account_id, phone FROM stoplist
    WHERE account_id IN (p.account_id, 0) AND phone = p.phone
) AS s

-- slice_account_lock --
-- An account's free balance, its row locked until the transaction ends (no row: no account)
SELECT balance FROM accounts WHERE id = $1 FOR NO KEY UPDATE

-- slice_free --
-- The fullest slice of an account ($1) that no other transaction holds, locked
SELECT id, amount FROM balance_slices WHERE account_id = $1
ORDER BY amount DESC LIMIT 1 FOR UPDATE SKIP LOCKED

-- slice_new --
-- A new, empty slice of an account (every other one is held): its id
INSERT INTO balance_slices (account_id, amount) VALUES ($1, 0) RETURNING id

-- slices_gather --
-- Take back every slice of an account ($1) but one ($2; 0: none): waits for the transactions
-- holding them, deletes them, and answers what they held (the caller adds it to the row)
WITH held AS (
    SELECT id, amount FROM balance_slices WHERE account_id = $1 AND id <> $2 FOR UPDATE
), gone AS (
    DELETE FROM balance_slices b USING held WHERE b.id = held.id
)
SELECT coalesce(sum(amount), 0)::int8 FROM held

-- account_free_add --
-- Add to (or, negative, take from) an account's free balance; its row is locked
UPDATE accounts SET balance = balance + $2 WHERE id = $1

-- slices_change --
-- Each slice ($1) changed by its amount ($2): a refill less the group's debit
UPDATE balance_slices s SET amount = s.amount + d.delta
FROM unnest($1::int8[], $2::int8[]) AS d(id, delta)
WHERE s.id = d.id
