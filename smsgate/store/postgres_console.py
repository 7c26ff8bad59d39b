"""PostgreSQL backend, the operator console's reads: search, timeline, figures. A mixin of
`PostgresStore` (I/O only: the statements are `sql/postgres/console.sql`'s, the choice of query
and the bisection `console_search`'s)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ..core.models import Job, Message, MoMessage
from . import console_search
from .base import CallbackHealth, CallbackRecord, ConsoleFilter, TrafficCounts
from .rows import job_from_row, mo_from_row, row_to_message

_PROBES = {"messages": "console_message_probe", "events": "console_event_probe"}
_LAST = {"messages": "console_last_message_seq", "events": "console_last_event_seq"}


class PostgresConsole:
    """The console methods of `Store` for PostgreSQL; `PostgresStore` gives `_fetch`."""

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def console_messages(
        self, flt: ConsoleFilter, *, before_seq: int | None = None, limit: int = 50
    ) -> list[Message]:
        after = 0 if flt.since is None else await self.console_seq_at("messages", flt.since)
        filters = msgspec.structs.astuple(flt)  # in the order console.sql binds them
        bounds = (before_seq or console_search.NEWEST, after, int(limit))
        rows = await self._fetch(console_search.search_query(flt), *filters, *bounds)
        return [row_to_message(r) for r in rows]

    async def console_callbacks(self, message_id: str) -> list[CallbackRecord]:
        rows = await self._fetch("console_callbacks", message_id)
        return [console_search.callback_record(r) for r in rows]

    async def console_seq_at(self, table: Literal["messages", "events"], since: float) -> int:
        async def probe(seq: int) -> tuple[int, float] | None:
            rows = await self._fetch(_PROBES[table], seq)
            return (int(rows[0][0]), float(rows[0][1])) if rows else None

        last = int((await self._fetch(_LAST[table]))[0][0])
        return await console_search.seq_at(probe, last, since)

    async def console_traffic(self, after_seq: int, upto_seq: int, bucket: int) -> TrafficCounts:
        rows = await self._fetch("console_traffic", after_seq, upto_seq, float(bucket))
        return {(int(b), s): int(n) for b, s, n in rows}

    async def console_account_traffic(self, account_id: int, after_seq: int) -> dict[str, int]:
        rows = await self._fetch("console_account_traffic", account_id, after_seq)
        return {s: int(n) for s, n in rows}

    async def console_callback_health(self, since: float) -> list[CallbackHealth]:
        return console_search.callback_health(await self._fetch("console_callback_health", since))

    async def console_mo(
        self, account_id: int | None = None, *, before_seq: int | None = None, limit: int = 50
    ) -> list[MoMessage]:
        before = before_seq or console_search.NEWEST
        rows = await self._fetch("console_mo", before, account_id, int(limit))
        return [mo_from_row(r) for r in rows]

    async def console_job(self, job_id: str) -> Job | None:
        rows = await self._fetch("console_job", job_id)
        return job_from_row(rows[0]) if rows else None
