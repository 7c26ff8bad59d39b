"""PostgreSQL backend, a large request written while it is built (`Store.accept_stream`). A
mixin of `PostgresStore`.

The messages go to the server by COPY from a generator that builds them a chunk at a time:
asyncpg sends each 512 KB of rows as it fills, so the server inserts them (and maintains the
table's indexes, most of a bulk's time) while the next chunk is built here.

The plan is the insert-first one of `postgres._accept`: every row goes in, the unique index
checking its reference; then the account's debit slice is taken (`postgres_debits`, after the
rows rather than before: the amount is known once the last text is priced) and the request is
planned as if none was stored. Anything else (a stop list to look at, a reference stored
before, too little balance, a refused recipient, which ends the chunks early) rolls the rows
back and leaves the request to `accept`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, NamedTuple

import asyncpg

from ..core.models import Job, Message
from . import postgres_debits as debits
from . import rules
from .base import Outcome
from .queries import load

Q = load("postgres")


class _Undone(Exception):
    """The request is not all new: its rows are rolled back."""


class CopyParts(NamedTuple):
    """What postgres.py writes messages and jobs with (given, not imported: it imports this)."""

    columns: tuple[str, ...]  # the COPY's columns
    rows: Callable[[list[Message]], Iterable[tuple[Any, ...]]]  # messages' values for them
    numbers: Callable[[asyncpg.Connection, str, int], Awaitable[list[int]]]  # from a sequence
    pay: Callable[[asyncpg.Connection, rules.AcceptPlan, debits.Slices], Awaitable[None]]


class PostgresStream:
    """`Store.accept_stream` for PostgreSQL; `PostgresStore` gives `_tx`, `commits` and
    `_copy_parts`."""

    commits: int

    async def _tx(self, fn: Callable[[asyncpg.Connection], Awaitable[Any]], tx: bool = True) -> Any:
        raise NotImplementedError

    def _copy_parts(self) -> CopyParts:
        raise NotImplementedError

    async def accept_stream(
        self, account_id: int, count: int, chunks: Iterator[list[Message]], *, job: Job | None
    ) -> list[Outcome] | None:
        parts = self._copy_parts()

        async def write(conn: asyncpg.Connection) -> list[Outcome] | None:
            return await _stream(conn, parts, account_id, count, chunks, job)

        try:
            # A retried transaction (a deadlock) finds the chunks taken: fewer than `count`.
            outcomes: list[Outcome] | None = await self._tx(write)
        except asyncpg.exceptions.DataError:
            return None  # a value the server refuses: `accept` answers it in its own words
        if outcomes is not None:
            self.commits += 1
        return outcomes


async def _stream(
    conn: asyncpg.Connection,
    parts: CopyParts,
    account_id: int,
    count: int,
    chunks: Iterator[list[Message]],
    job: Job | None,
) -> list[Outcome] | None:
    if await conn.fetchval(Q["stoplist_any"], [0, account_id]):
        return None
    seqs = iter(await parts.numbers(conn, "next_message_seqs", count))
    got: list[Message] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for chunk in chunks:
            for m in chunk:
                m.seq = next(seqs)
            got.extend(chunk)
            yield from parts.rows(chunk)

    try:
        async with conn.transaction():  # a savepoint: what went in goes again
            await conn.copy_records_to_table("messages", records=rows(), columns=parts.columns)
            request = rules.AcceptRequest(account_id, got, job)
            slices = await debits.reserve(conn, rules.most_owed([request]))
            plan = rules.plan_accept([request], rules.Known({}, (), slices.held))
            if len(got) != count or not plan.all_new:
                raise _Undone
            await parts.pay(conn, plan, slices)
    except (_Undone, asyncpg.UniqueViolationError):
        _unnumber(got)
        return None
    except BaseException:
        _unnumber(got)
        raise
    return plan.outcomes[0]


def _unnumber(messages: list[Message]) -> None:
    for m in messages:  # not stored: not numbered
        m.seq = 0
