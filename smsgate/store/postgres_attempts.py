"""PostgreSQL backend, the outbox's marks with the callback attempts that led to them: done,
retry and dead are each one statement that also keeps the attempts (`sql/postgres/attempts.sql`;
done keeps its successful attempt in the row it marks), and the purge forgets both, a window at a
time (store/retention.py). A mixin of `PostgresStore` (I/O only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import retention
from ._group_commit import Coalesce
from .attempt_rows import arrays, attempt_record, done_columns
from .base import AttemptRecord, CallbackAttempt
from .rules import Window

MAX_ERROR = 500  # characters of an outbox row's last error
_PURGE = {"outbox": "attempts_purge", "connector_log": "connector_log_purge"}  # a window each

# One outbox_done call: the rows, when, and the attempts that delivered them.
DoneMark = tuple[Sequence[int], float, Sequence[CallbackAttempt]]


class PostgresAttempts:
    """The outbox marks and attempts of `Store` for PostgreSQL; `PostgresStore` gives
    `_execute`, `_fetch` and `_done` (a Coalesce over `_write_done`)."""

    _done: Coalesce[DoneMark]

    async def _execute(self, query: str, *args: Any) -> int:
        raise NotImplementedError

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def outbox_done(
        self, ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt] = ()
    ) -> None:
        # One callback at a time arrives here from many concurrent deliveries: those waiting
        # together share one statement and one commit.
        if ids:
            await self._done.add([(ids, now, tried)])

    async def _write_done(self, marks: list[DoneMark]) -> None:
        ids = [i for m in marks for i in m[0]]
        times = [m[1] for m in marks for _ in m[0]]
        columns = done_columns(ids, [a for m in marks for a in m[2]])
        await self._execute("attempts_done", ids, times, *map(list, zip(*columns, strict=True)))

    async def outbox_retry(
        self,
        ids: Sequence[int],
        next_at: float,
        error: str,
        tried: Sequence[CallbackAttempt] = (),
    ) -> None:
        await self._execute("attempts_retry", list(ids), next_at, error[:MAX_ERROR], *arrays(tried))

    async def outbox_dead(
        self, ids: Sequence[int], error: str, tried: Sequence[CallbackAttempt] = ()
    ) -> None:
        await self._execute("attempts_dead", list(ids), error[:MAX_ERROR], *arrays(tried))

    async def callback_attempts(self, message_id: str) -> list[AttemptRecord]:
        return [attempt_record(r) for r in await self._fetch("attempts_of_message", message_id)]

    async def purge(self, before: float) -> int:
        return await retention.purge(self._purge_window, before)

    async def _purge_window(self, table: str, after: int, chunk: int, before: float) -> Window:
        """One window of the purge's walk over `table`: one statement, its own transaction."""
        return Window(*(await self._fetch(_PURGE[table], after, chunk, before))[0])
