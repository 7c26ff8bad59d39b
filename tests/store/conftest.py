"""The store contract suite runs every test on each backend: `store` is SQLite, then PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smsgate.store import open_store
from smsgate.store.base import Store
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
