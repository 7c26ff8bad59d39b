"""PostgreSQL backend, the southbound routing's part: which connector had each message, and
the routing table. A mixin of `PostgresStore` (I/O only: the decisions are core.routing's, the
statements `sql/postgres/routes.sql`'s)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from ..core.routing import (
    MessageRoute,
    RoutingTable,
    TableDiff,
    diff_tables,
    table_from_rows,
    table_rows,
)
from .queries import load

T = TypeVar("T")
Q = load("postgres")


class PostgresRoutes:
    """The routes methods of `Store` for PostgreSQL; `PostgresStore` gives `_tx` and `_fetch`."""

    async def _tx(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], tx: bool = True) -> T:
        raise NotImplementedError

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def routes_mark(
        self, connector: str, marks: Sequence[tuple[str, str | None]], at: float
    ) -> None:
        if not marks:
            return
        ids = [m for m, _ in marks]
        carrier_ids = [c for _, c in marks]
        await self._tx(
            lambda conn: conn.execute(Q["route_mark"], ids, connector, carrier_ids, at), tx=False
        )

    async def routes_of(self, message_ids: Sequence[str]) -> dict[str, MessageRoute]:
        if not message_ids:
            return {}
        return {
            r[0]: MessageRoute(message_id=r[0], connector=r[1], carrier_id=r[2], at=float(r[3]))
            for r in await self._fetch("routes_of", list(message_ids))
        }

    async def routes_by_carrier(self, connector: str, carrier_ids: Sequence[str]) -> dict[str, str]:
        if not carrier_ids:
            return {}
        rows = await self._fetch("routes_by_carrier", connector, list(carrier_ids))
        return {r[0]: r[1] for r in rows}

    async def routing_table(self) -> RoutingTable:
        return table_from_rows(await self._fetch("routing_entries"))

    async def routing_apply(self, table: RoutingTable) -> TableDiff:
        async def op(conn: asyncpg.Connection) -> TableDiff:
            await conn.execute(Q["routing_lock"])
            current = table_from_rows(await conn.fetch(Q["routing_entries"]))
            diff = diff_tables(current, table)
            if not diff.empty:
                await conn.execute(Q["routing_clear"])
                await conn.executemany(Q["routing_insert"], table_rows(table))
            return diff

        return await self._tx(op)
