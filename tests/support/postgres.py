"""PostgreSQL for tests: a database per test session, a schema per test.

The server is `SMSGATE_TEST_POSTGRES` (default postgresql://postgres@127.0.0.1:5432/test, trust
auth). Each session creates `smsgate_test_<random>` and drops it at the end; each test gets its
own schema in it (the store's URL carries `search_path`), so parallel runs never collide. With
CI=true an unreachable server fails the tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

T = TypeVar("T")
SERVER = os.environ.get("SMSGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def with_database(url: str, database: str, **query: str) -> str:
    parts = urlsplit(url)
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, q, ""))


def unavailable(reason: str) -> None:
    message = f"PostgreSQL at {SERVER} is not reachable: {reason}"
    if in_ci():
        pytest.fail(message + " (CI=true: PostgreSQL is required)", pytrace=False)
    pytest.skip(message)


class SessionDatabase:
    """The session's database; `schema()` makes a fresh schema and its store URL."""

    def __init__(self) -> None:
        self.name = f"smsgate_test_{secrets.token_hex(4)}"
        self.url = with_database(SERVER, self.name)
        self.error: str | None = None
        self.created = False

    def create(self) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(SERVER, timeout=5)
            try:
                await conn.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await conn.close()

        try:
            run_sync(go())
            self.created = True
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def drop(self) -> None:
        if not self.created:
            return

        async def go() -> None:
            conn = await asyncpg.connect(SERVER, timeout=10)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await conn.close()

        for _ in range(10):  # the server may be restarting (the pg_restart test)
            try:
                run_sync(go())
                return
            except (OSError, asyncpg.PostgresError, TimeoutError):
                import time

                time.sleep(1.0)

    def schema(self) -> tuple[str, str]:
        """(schema name, store URL using it)."""
        name = f"t_{secrets.token_hex(5)}"

        async def go() -> None:
            conn = await asyncpg.connect(self.url, timeout=10)
            try:
                await conn.execute(f"CREATE SCHEMA {name}")
            finally:
                await conn.close()

        run_sync(go())
        return name, with_database(SERVER, self.name, search_path=name)

    def drop_schema(self, name: str) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self.url, timeout=10)
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            finally:
                await conn.close()

        try:
            run_sync(go())
        except (OSError, asyncpg.PostgresError, TimeoutError):
            pass  # dropped with the database at the end of the session
