-- Version 3: debit slices. Accepts do not debit the account's row (one row that every node's
-- every transaction would queue on): each takes an unlocked slice of the account's balance
-- (FOR UPDATE SKIP LOCKED), debits it, and refills it from the row only when it runs short.
-- An account's balance is its row's plus its slices'. docs/operations.md, "Debits".
CREATE TABLE balance_slices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amount BIGINT NOT NULL CHECK (amount >= 0)
);
CREATE INDEX balance_slices_account ON balance_slices(account_id);
