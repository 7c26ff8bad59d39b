"""Connections kept for the statements a PostgreSQL store runs for every message (group
commits, checked report writes, connector-log lines), taken and given back without asyncpg's
pool: its acquire with a timeout runs in a task of its own and its release in another
(`asyncio.shield`): 123 µs of CPU an acquire and release against 78 without the timeout and
nothing here, where the statement itself took 80 (a loaded machine). At most `limit` are in
use at once (the group commits' slots): a call that finds them all in use takes the pool's
way instead (`take` answers None), so none waits here.

A connection is given back only as it was taken: open and outside a transaction, after the
call returned or raised an ordinary error (the transaction rolled back). Anything else
(cancelled mid-statement, a lost link) closes it, and the next call opens another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg


class HeldConnections:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], limit: int) -> None:
        self.connect = connect
        self.limit = limit
        self.busy = 0
        self.idle: list[asyncpg.Connection] = []
        self.closed = False

    async def take(self) -> asyncpg.Connection | None:
        """The connection given back last (the others may age out on the server), or a new
        one; None when `limit` are in use."""
        if self.busy >= self.limit:
            return None
        self.busy += 1
        try:
            while self.idle:
                conn = self.idle.pop()
                if not conn.is_closed():
                    return conn
            return await self.connect()
        except BaseException:
            self.busy -= 1
            raise

    async def warm(self) -> None:
        """One connection opened ahead of the first call."""
        self.idle.append(await self.connect())

    def give_back(self, conn: asyncpg.Connection, reusable: bool) -> None:
        self.busy -= 1
        if reusable and not self.closed and not conn.is_closed() and not conn.is_in_transaction():
            self.idle.append(conn)
        elif not conn.is_closed():
            conn.terminate()

    async def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        for conn in idle:
            try:
                async with asyncio.timeout(2.0):
                    await conn.close()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                with contextlib.suppress(asyncpg.InterfaceError):
                    conn.terminate()
