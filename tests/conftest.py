"""Shared fixtures: a running smsgate on a temporary database and a callback receiver.

`backend` picks the database: SQLite by default (or $SMSGATE_TEST_BACKEND); a test opts into
both with `@both_backends` (tests/support/backends.py), which parametrises it indirectly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import uvloop
from hypothesis import HealthCheck, settings

from tests.support.postgres import SessionDatabase, unavailable
from tests.support.servers import Gateway, Receiver, start_gateway, start_receiver, test_config

# make test's xdist groups (the hook lives there, light enough for tests/test_suite_groups.py)
from tests.support.xdist_groups import pytest_collection_modifyitems  # noqa: F401

# Hypothesis's timing checks judge the machine, not the code: on a shared machine at load 20 a
# property test of SMPP PDUs failed its "too slow" health check (it passed alone). Every
# property test runs with neither a per-example deadline nor that check, unless it says so.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """uvloop, as `smsgate serve` runs: asyncio's own loop stalls keep-alive answers ~40 ms here."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def pg_database() -> Iterator[SessionDatabase]:
    """A PostgreSQL database for this test session, dropped at its end."""
    db = SessionDatabase()
    db.create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def pg_url(pg_database: SessionDatabase) -> Iterator[str]:
    """A fresh schema in the session's database: the store URL (with search_path) for it."""
    if pg_database.error is not None:
        unavailable(pg_database.error)
    schema, url = pg_database.schema()
    try:
        yield url
    finally:
        pg_database.drop_schema(schema)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", os.environ.get("SMSGATE_TEST_BACKEND", "sqlite")))


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path}/smsgate.db"


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    gw = await start_gateway(test_config(database_url))
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=gateway.url) as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = await start_receiver()
    try:
        yield rec
    finally:
        assert rec.runner is not None
        await rec.runner.cleanup()
