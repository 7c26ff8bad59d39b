"""PostgreSQL only: connections the server closes while writes run (pg_terminate_backend, as a
restart does to every one) are never used again, and no call fails with asyncpg's "cannot
switch to state 15; another operation (2) is in progress".

That message came from a connection that had read the server's goodbye while it sat idle (in
the pool, or between two statements of a transaction) but not yet the end of its stream: the
next statement on it was refused before it left. Not two operations at once; nothing of the
call was done, so the store now makes it again on another connection.
"""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from smsgate.store.base import StoreUnavailable
from smsgate.store.postgres import PostgresStore
from tests.store.helpers import make_account

KILLS = 40


async def test_connections_the_server_closes_are_not_used_again(pg_url: str) -> None:
    tag = f"goodbye_{secrets.token_hex(4)}"  # only this store's connections are terminated
    store = PostgresStore(f"{pg_url}&application_name={tag}&pool_max=4")
    await store.open()
    await store.migrate()
    admin = await asyncpg.connect(pg_url)
    errors: list[str] = []
    stop = asyncio.Event()
    try:
        account = await make_account(store)

        async def write() -> None:
            while not stop.is_set():
                try:
                    await store.adjust_balance(account.id, 1)  # lock, read, write: one transaction
                    await store.get_account(account.id)
                except StoreUnavailable as exc:
                    errors.append(f"{exc} / {exc.__cause__!r}")
                await asyncio.sleep(0)

        writers = [asyncio.create_task(write()) for _ in range(8)]
        # The case is a race: kill until it has happened (40 kills were not always enough in the
        # parallel suite), and give up only at a deadline.
        kills = 0
        deadline = asyncio.get_running_loop().time() + 30
        while kills < KILLS or store.closed_by_server == 0:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.03)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                tag,
            )
            kills += 1
        stop.set()
        await asyncio.gather(*writers)
        mixed_up = [e for e in errors if "another operation" in e or "cannot switch" in e]
        assert mixed_up == [], mixed_up[:3]
        # The case happened (calls went again on another connection), and the store works on.
        assert store.closed_by_server > 0
        assert await store.get_account(account.id) is not None
    finally:
        stop.set()
        await admin.close()
        await store.close()
