"""SQLite backend, the outbox's marks with the callback attempts that led to them: done,
retry and dead write both in one transaction (the writer's group commit; done keeps its
successful attempt in the row it marks), and the purge forgets both, a window at a time
(store/retention.py). A mixin of `SQLiteStore` (I/O only: the statements are
`sql/sqlite/queries.sql`'s outbox marks and `sql/sqlite/attempts.sql`'s)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from . import retention
from .attempt_rows import attempt_record, done_columns, values
from .base import AttemptRecord, CallbackAttempt
from .queries import load
from .rules import Window
from .sqlite_reports import insert_rows

T = TypeVar("T")
_Q = load("sqlite")
MAX_ERROR = 500  # characters of an outbox row's last error
# Per table, the purge's window and what goes of it: the table's rows last (they are counted),
# after the callback attempts found by them.
_PURGE = {
    "outbox": ("purge_outbox_window", "attempts_purge", "purge_outbox"),
    "connector_log": ("purge_connector_log_window", "purge_connector_log"),
}


class SQLiteAttempts:
    """The outbox marks and attempts of `Store` for SQLite; `SQLiteStore` gives `_write` and
    `_read`."""

    def _write(self, fn: Callable[[sqlite3.Connection], T], weight: int = 1) -> Awaitable[T]:
        raise NotImplementedError

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def outbox_done(
        self, ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt] = ()
    ) -> None:
        # The successful attempt goes in the row's own update: no attempt row to write.
        columns = done_columns(ids, tried)
        rows = [(i, now, *c) for i, c in zip(ids, columns, strict=True)]

        def op(conn: sqlite3.Connection) -> None:
            insert_rows(conn, "outbox_done", "outbox_done_rows", rows)

        await self._write(op, len(rows))

    async def outbox_retry(
        self,
        ids: Sequence[int],
        next_at: float,
        error: str,
        tried: Sequence[CallbackAttempt] = (),
    ) -> None:
        await self._mark("outbox_retry", [(next_at, error[:MAX_ERROR], i) for i in ids], tried)

    async def outbox_dead(
        self, ids: Sequence[int], error: str, tried: Sequence[CallbackAttempt] = ()
    ) -> None:
        await self._mark("outbox_dead", [(error[:MAX_ERROR], i) for i in ids], tried)

    async def _mark(
        self, query: str, rows: Sequence[Sequence[Any]], tried: Sequence[CallbackAttempt]
    ) -> None:
        """One outbox mark for each of `rows`, and `tried`, in the next group commit."""
        mark, keep = _Q[query], _Q["attempts_insert"]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(mark, rows)
            if tried:
                conn.executemany(keep, map(values, tried))

        await self._write(op, len(rows))  # as heavy as the marks alone: the same path

    async def callback_attempts(self, message_id: str) -> list[AttemptRecord]:
        return [attempt_record(r) for r in self._read("attempts_of_message", (message_id,))]

    async def purge(self, before: float) -> int:
        return await retention.purge(self._purge_window, before)

    async def _purge_window(self, table: str, after: int, chunk: int, before: float) -> Window:
        """One window of the purge's walk over `table`, in one transaction of its own."""

        window, *deletes = _PURGE[table]

        def op(conn: sqlite3.Connection) -> Window:
            at = {"after": after, "chunk": chunk, "before": before}
            seen, last, old = conn.execute(_Q[window], at).fetchone()
            at["last"] = last
            gone = [conn.execute(_Q[q], at).rowcount for q in deletes]
            return Window(seen, last, old, gone[-1])

        return await self._write(op, chunk)
