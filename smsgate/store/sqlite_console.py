"""SQLite backend, the operator console's reads: search, timeline, figures. A mixin of
`SQLiteStore` (I/O only: the statements are `sql/sqlite/console.sql`'s, the choice of query
and the bisection `console_search`'s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from ..core.models import Job, Message, MoMessage
from . import console_search
from .base import CallbackHealth, CallbackRecord, ConsoleFilter, TrafficCounts
from .rows import job_from_row, mo_from_row, row_to_message

_PROBES = {"messages": "console_message_probe", "events": "console_event_probe"}
_LAST = {"messages": "console_last_message_seq", "events": "console_last_event_seq"}


class SQLiteConsole:
    """The console methods of `Store` for SQLite; `SQLiteStore` gives `_read`."""

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def console_messages(
        self, flt: ConsoleFilter, *, before_seq: int | None = None, limit: int = 50
    ) -> list[Message]:
        after = 0 if flt.since is None else await self.console_seq_at("messages", flt.since)
        params = msgspec.structs.asdict(flt)
        params.update(before_seq=before_seq or console_search.NEWEST, after_seq=after)
        rows = self._read(console_search.search_query(flt), {**params, "limit": int(limit)})
        return [row_to_message(r) for r in rows]

    async def console_callbacks(self, message_id: str) -> list[CallbackRecord]:
        return [
            console_search.callback_record(r)
            for r in self._read("console_callbacks", (message_id,))
        ]

    async def console_seq_at(self, table: Literal["messages", "events"], since: float) -> int:
        async def probe(seq: int) -> tuple[int, float] | None:
            rows = self._read(_PROBES[table], (seq,))
            return (int(rows[0][0]), float(rows[0][1])) if rows else None

        last = int(self._read(_LAST[table])[0][0])
        return await console_search.seq_at(probe, last, since)

    async def console_traffic(self, after_seq: int, upto_seq: int, bucket: int) -> TrafficCounts:
        params = {"after_seq": after_seq, "upto_seq": upto_seq, "bucket": int(bucket)}
        return {(int(b), s): int(n) for b, s, n in self._read("console_traffic", params)}

    async def console_account_traffic(self, account_id: int, after_seq: int) -> dict[str, int]:
        rows = self._read("console_account_traffic", (account_id, after_seq))
        return {s: int(n) for s, n in rows}

    async def console_callback_health(self, since: float) -> list[CallbackHealth]:
        return console_search.callback_health(self._read("console_callback_health", (since,)))

    async def console_mo(
        self, account_id: int | None = None, *, before_seq: int | None = None, limit: int = 50
    ) -> list[MoMessage]:
        params = {"before_seq": before_seq or console_search.NEWEST, "account_id": account_id}
        return [mo_from_row(r) for r in self._read("console_mo", {**params, "limit": int(limit)})]

    async def console_job(self, job_id: str) -> Job | None:
        rows = self._read("console_job", (job_id,))
        return job_from_row(rows[0]) if rows else None
