"""The HTTP upstream connectors' tests: a real store (the connector log), a recording sink, and
messages to send. A connector talks to its fake provider on 127.0.0.1 over real sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from smsgate.connectors.base import Incoming
from smsgate.core.models import Message, Report
from smsgate.store import open_store
from smsgate.store.base import Store

LOOPBACK = ["127.0.0.0/8"]


class Sink:
    """The engine's side of a connector: what it reported, and a wait for it."""

    def __init__(self) -> None:
        self.received: list[Report] = []
        self.mo: list[Incoming] = []
        self._changed = asyncio.Event()

    async def reports(self, reports: Sequence[Report]) -> None:
        self.received += reports
        self._changed.set()

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        self.mo += messages

    def final(self) -> dict[str, Report]:
        return {r.message_id: r for r in self.received if r.status.is_final}

    async def wait_final(self, count: int, timeout: float = 5.0) -> dict[str, Report]:
        async with asyncio.timeout(timeout):
            while len(self.final()) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.final()


async def settled(store: Store, connector: str, timeout: float = 5.0) -> None:
    """Wait until the connector owes no report (its log has no pending line)."""
    async with asyncio.timeout(timeout):
        while await store.connector_log_pending(connector):
            await asyncio.sleep(0.01)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = open_store(database_url)
    await s.open()
    await s.migrate()
    yield s
    await s.close()


@pytest.fixture
def sink() -> Sink:
    return Sink()


def message(
    n: int, phone: str = "+79651111111", sender: str | None = "Test", **kw: object
) -> Message:
    """Our message number `n` (its id is the reference a provider keeps for us)."""
    fields: dict[str, object] = {
        "id": f"m{n:04d}-{time.monotonic_ns() % 10**9}",
        "account_id": 1,
        "dialect": "native",
        "phone": phone,
        "text": f"Text for SMS {n}",
        "encoding": "gsm7",
        "segments": 1,
        "sender": sender,
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]
