"""Engine tests drive the store, dispatcher and simulator directly (no HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from smsgate.connectors.simulator import Simulator, SimulatorConfig
from smsgate.core.models import Account, Message, Report
from smsgate.provision import Document, apply
from smsgate.store.sqlite import SQLiteStore
from tests.support.servers import account


class Recording(Simulator):
    """The real simulator, remembering the order in which messages reached it."""

    def __init__(self, store: SQLiteStore, config: SimulatorConfig | None = None) -> None:
        super().__init__(store, config or SimulatorConfig(dr_delay=0.01))
        self.order: list[str] = []
        self.times: list[float] = []

    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        import time

        self.order += [m.id for m in messages]
        self.times += [time.time()] * len(messages)
        return await super().submit(messages)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(f"sqlite:///{tmp_path}/engine.db")
    await s.open()
    await s.migrate()
    yield s
    await s.close()


@pytest.fixture
async def acme(store: SQLiteStore) -> Account:
    await apply(store, Document(accounts=[account("acme")]))
    found = await store.account_by_name("acme")
    assert found is not None
    return found
