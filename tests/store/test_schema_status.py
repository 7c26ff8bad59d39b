"""The read-only reads the commands need, on each backend: where the schema stands
(`schema_status`, which creates nothing) and where `tail` starts (`events_start`)."""

from __future__ import annotations

import time

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store import open_store
from smsgate.store.base import Store
from smsgate.store.migrations import migrations
from tests.store.helpers import make_account, message, route


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgres"


async def test_a_fresh_database_is_at_version_0_and_stays_so(database_url: str) -> None:
    store = open_store(database_url)
    await store.open()
    try:
        files = migrations(backend_of(database_url))
        first = await store.schema_status()
        assert (first.version, first.latest) == (0, files[-1][0])
        assert len(first.pending) == len(files) and first.pending[0].startswith("001_")
        assert not first.current and not first.newer
        assert await store.schema_status() == first  # the read made no version table
        assert await store.migrate() == first.latest
        done = await store.schema_status()
        assert done.current and done.pending == () and done.version == first.latest
    finally:
        await store.close()


async def _events(store: Store, ats: list[float]) -> list[int]:
    """One status event per time in `ats`, through the store as the engine records them."""
    account = await make_account(store)
    messages = [message(account.id, phone=f"7965000{i:04d}") for i in range(len(ats))]
    await store.accept(account.id, messages)
    reports = [
        Report(message_id=m.id, status=Status.REJECTED, at=at)
        for m, at in zip(messages, ats, strict=True)
    ]
    await store.record_reports(reports, route)
    return [e.seq for e in await store.events_after(0)]


async def test_events_start_at_the_end_or_from_a_time(store: Store) -> None:
    assert await store.events_start() == 0  # no events yet
    assert await store.events_start(time.time() - 60) == 0
    now = time.time()
    seqs = await _events(store, [now - 7200, now - 7100, now - 300, now - 200])
    assert await store.events_start() == seqs[-1]  # only new events follow
    assert await store.events_start(now - 600) == seqs[1]  # the two recent ones follow
    assert await store.events_start(now - 86400) == seqs[0] - 1  # all of them
    assert await store.events_start(now + 60) == seqs[-1]  # none is that recent
    after = await store.events_after(await store.events_start(now - 600))
    assert [e.at for e in after] == [now - 300, now - 200]
