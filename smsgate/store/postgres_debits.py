"""PostgreSQL debits without a hot row: an accept debits a slice of the balance it holds alone.

With every accept debiting the account's row, each group commit queued behind the previous
one's commit on that row lock, on every node (sampled in pg_stat_activity: nearly every busy
backend waited on it). Instead an account's balance is its row's free part plus slices
(`balance_slices`). A group takes, per account, a slice no other transaction holds that covers
the most it could debit (`FOR UPDATE SKIP LOCKED`: it never waits), plans against it and writes
the slice's new amount with its messages, in its own transaction.

A slice short of that is refilled under the row's lock (`rules.slice_top_up`); when the row
cannot cover it either, every other slice is taken back first (`rules.must_gather`), waiting
for the transactions holding them, so a refusal is decided against the whole balance: the
balance race holds exactly, across nodes. Locks go in one order: an account's row, then its
slices; accounts in id order. A group of several accounts that found some but not all of its
slices holds slices out of that order: it starts again in order (`OutOfOrder`).

A slice belongs to no node: a killed process's transaction dies with its lock, and what the
slice held stays the account's.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from . import rules
from .queries import load

Q = load("postgres")


class OutOfOrder(Exception):
    """A group holds slices of higher accounts than one it must now wait for: roll back and
    take them again in id order (`reserve(..., ordered=True)`)."""


class Slices:
    """The slices a transaction holds: per account, the slice, what it holds now (the group
    plans against it) and the change to write with the group (a refill less the debit); and,
    when `reserve` was asked, the stop-listed phones read in the same round trip."""

    def __init__(self) -> None:
        self.slice: dict[int, int] = {}
        self.held: dict[int, int] = {}
        self.delta: dict[int, int] = {}
        self.written: dict[int, int] = {}  # of each account's change, what is written
        self.stopped: set[tuple[int, str]] | None = None  # None: not read

    def hold(self, account_id: int, slice_id: int, amount: int) -> None:
        self.slice[account_id] = slice_id
        self.held[account_id] = amount
        self.delta[account_id] = 0
        self.written[account_id] = 0

    def unwritten(self, debits: Mapping[int, int]) -> tuple[list[int], list[int]]:
        """The slices' changes for these debits not written yet, as (slice ids, amounts), from
        then on counted as written (they go out with the statement the caller runs next)."""
        if any(a not in self.slice for a in debits):  # planned against a slice it did not hold
            raise RuntimeError("a debit without a slice")
        ids, amounts = [], []
        for account_id, slice_id in self.slice.items():
            change = self.delta[account_id] - debits.get(account_id, 0)
            if change != self.written[account_id]:
                ids.append(slice_id)
                amounts.append(change - self.written[account_id])
                self.written[account_id] = change
        return ids, amounts


async def reserve(
    conn: asyncpg.Connection,
    owed: Mapping[int, int],
    *,
    ordered: bool = False,
    stops: tuple[list[int], list[str]] | None = None,
) -> Slices:
    """For each account of `owed`, a slice that decides its group as its whole balance would.
    `stops` (accounts, phones: `rules.stop_probes`): read which of these pairs are stop-listed
    in the first round trip too."""
    slices = Slices()
    accounts = sorted(owed)
    if not ordered and accounts:
        args = stops or ([], [])
        rows = await conn.fetch(
            Q["slices_take_and_stops"], accounts, [owed[a] for a in accounts], *args
        )
        slices.stopped = set() if stops is not None else None
        for account_id, slice_id, amount, phone in rows:
            if phone is None:
                slices.hold(account_id, slice_id, amount)
            elif slices.stopped is not None:
                slices.stopped.add((account_id, phone))
        missing = [a for a in accounts if a not in slices.slice]
        if missing and slices.slice and max(slices.slice) > missing[0]:
            raise OutOfOrder()
        accounts = missing
    for account_id in accounts:
        if ordered:
            row = await conn.fetchrow(Q["slices_take"], [account_id], [owed[account_id]])
            if row is not None:
                slices.hold(account_id, row[1], row[2])
                continue
        await _refill(conn, slices, account_id, owed[account_id])
    return slices


async def _refill(conn: asyncpg.Connection, slices: Slices, account_id: int, owed: int) -> None:
    """Hold a slice of the account topped up from its row (after taking the other slices back,
    when the row is short too). No account: nothing held, and the group plans against 0."""
    free = await conn.fetchval(Q["slice_account_lock"], account_id)
    if free is None:
        return
    row = await conn.fetchrow(Q["slice_free"], account_id)
    slice_id, held = (
        (row[0], row[1]) if row else (await conn.fetchval(Q["slice_new"], account_id), 0)
    )
    gathered = 0
    if rules.must_gather(held, free, owed):
        gathered = await conn.fetchval(Q["slices_gather"], account_id, slice_id)
    take = rules.slice_top_up(held, free + gathered, owed)
    if gathered or take:
        await conn.execute(Q["account_free_add"], account_id, gathered - take)
    slices.hold(account_id, slice_id, held + take)
    slices.delta[account_id] = take


async def spend(conn: asyncpg.Connection, slices: Slices, debits: Mapping[int, int]) -> None:
    """Write each held slice's new amount (its refill less the group's debit), unless the
    messages' INSERT carried it already (`Slices.unwritten`)."""
    ids, amounts = slices.unwritten(debits)
    if ids:
        await conn.execute(Q["slices_change"], ids, amounts)


async def whole_balance(conn: asyncpg.Connection, account_id: int) -> int | None:
    """An account's whole balance, every slice taken back into its row, the row locked until
    the transaction ends (None: no such account). For what reads or sets the balance outright
    (an adjustment, an update, the admin ledger): the row then holds all of it."""
    free = await conn.fetchval(Q["slice_account_lock"], account_id)
    if free is None:
        return None
    gathered = await conn.fetchval(Q["slices_gather"], account_id, 0)
    if gathered:
        await conn.execute(Q["account_free_add"], account_id, gathered)
    return int(free) + int(gathered)
