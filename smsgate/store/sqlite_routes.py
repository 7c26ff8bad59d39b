"""SQLite backend, the southbound routing's part: which connector had each message, and the
routing table. A mixin of `SQLiteStore` (I/O only: the decisions are core.routing's, the
statements `sql/sqlite/routes.sql`'s)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

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
_Q = load("sqlite")


def _ids(values: Sequence[str]) -> str:
    return msgspec.json.encode(list(values)).decode()


class SQLiteRoutes:
    """The routes methods of `Store` for SQLite; `SQLiteStore` gives `_write` and `_read`."""

    def _write(self, fn: Callable[[sqlite3.Connection], T], weight: int = 1) -> Awaitable[T]:
        raise NotImplementedError

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def routes_mark(
        self, connector: str, marks: Sequence[tuple[str, str | None]], at: float
    ) -> None:
        rows = [(message_id, connector, carrier_id, at) for message_id, carrier_id in marks]
        if rows:
            sql = _Q["route_mark"]
            await self._write(lambda conn: conn.executemany(sql, rows), len(rows))

    async def routes_of(self, message_ids: Sequence[str]) -> dict[str, MessageRoute]:
        found = self._read("routes_of", (_ids(message_ids),)) if message_ids else []
        return {
            r[0]: MessageRoute(message_id=r[0], connector=r[1], carrier_id=r[2], at=float(r[3]))
            for r in found
        }

    async def routes_by_carrier(self, connector: str, carrier_ids: Sequence[str]) -> dict[str, str]:
        if not carrier_ids:
            return {}
        return dict(self._read("routes_by_carrier", (connector, _ids(carrier_ids))))

    async def routing_table(self) -> RoutingTable:
        return table_from_rows(self._read("routing_entries"))

    async def routing_apply(self, table: RoutingTable) -> TableDiff:
        def op(conn: sqlite3.Connection) -> TableDiff:
            current = table_from_rows(conn.execute(_Q["routing_entries"]).fetchall())
            diff = diff_tables(current, table)
            if not diff.empty:
                conn.execute(_Q["routing_clear"])
                conn.executemany(_Q["routing_insert"], table_rows(table))
            return diff

        return await self._write(op)
