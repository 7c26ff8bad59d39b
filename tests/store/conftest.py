"""The store contract suite runs every test on each backend: `store` is SQLite, then PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgate.store import open_store
from smsgate.store.base import Store
from smsgate.store.sqlite import SQLiteStore
from tests.support.backends import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = open_store(database_url)
    await s.open()
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def other(database_url: str, store: Store) -> AsyncIterator[Store]:
    """A second store on the same database: another process, or another node."""
    s = open_store(database_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """An SQLite store on tmp_path/d.db, migrated, for the SQLite-only tests."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/d.db")
    await store.open()
    await store.migrate()
    try:
        yield store
    finally:
        await store.close()
