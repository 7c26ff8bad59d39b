from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from smsgate.core.models import Account, Message, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits
from smsgate.core.windows import Window
from smsgate.engine.accept import Acceptor
from smsgate.engine.dispatcher import Dispatcher
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store.sqlite import SQLiteStore
from tests.engine.conftest import Recording


def engine(store: SQLiteStore, sim: Recording) -> tuple[Dispatcher, Reports]:
    reports = Reports(store, CallbackRouter({}), lambda number: None)
    return Dispatcher(store, sim, reports, poll=0.01), reports


async def submit(
    store: SQLiteStore, account: Account, items: list[Submission], now: float | None = None
) -> list[str]:
    outcomes, _ = await Acceptor(store, Limits()).submit(account, "native", items, now=now)
    return [o.message.id for o in outcomes if o.message]


async def run_until(dispatcher: Dispatcher, cond: object, timeout: float = 10.0) -> None:
    task = asyncio.create_task(dispatcher.run())
    try:
        deadline = time.time() + timeout
        while not await cond():  # type: ignore[operator]
            assert time.time() < deadline, "timed out"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await dispatcher.drain()


async def statuses(store: SQLiteStore, account: Account, ids: list[str]) -> list[Status]:
    return [m.status for m in await store.get_messages(account.id, ids)]


async def test_priority_order(store: SQLiteStore, acme: Account) -> None:
    sim = Recording(store)
    dispatcher, reports = engine(store, sim)
    dispatcher.batch = 1  # one at a time, so the order is observable
    await sim.start(reports)
    low = await submit(
        store, acme, [Submission(phone=f"+7965111000{i}", text="low", priority=0) for i in range(3)]
    )
    high = await submit(
        store,
        acme,
        [Submission(phone=f"+7965111100{i}", text="high", priority=3) for i in range(3)],
    )

    async def all_sent() -> bool:
        return len(sim.order) == 6

    await run_until(dispatcher, all_sent)
    assert sim.order == high + low
    await sim.stop()


async def test_expired_before_sending_is_refunded(store: SQLiteStore, acme: Account) -> None:
    sim = Recording(store)
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)
    past = time.time() - 120
    [mid] = await submit(
        store, acme, [Submission(phone="+79651111111", text="stale", ttl=60)], now=past
    )
    before = (await store.get_account(acme.id)).balance  # type: ignore[union-attr]

    async def expired() -> bool:
        return await statuses(store, acme, [mid]) == [Status.EXPIRED]

    await run_until(dispatcher, expired)
    assert sim.order == []
    assert (await store.get_account(acme.id)).balance == before + 500_000  # type: ignore[union-attr]
    await sim.stop()


async def test_outside_window_waits_for_it(store: SQLiteStore, acme: Account) -> None:
    sim = Recording(store)
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)
    now = time.time()
    minute = int((now % 86400) // 60)
    closed = Window(
        start_minute=(minute + 120) % 1440, end_minute=(minute + 180) % 1440 or 1440, tz="UTC"
    )
    [mid] = await submit(
        store, acme, [Submission(phone="+79651111111", text="later", window=closed)]
    )
    [m] = await store.get_messages(acme.id, [mid])
    assert m.status is Status.SCHEDULED and m.not_before is not None and m.not_before > now + 3600
    await dispatcher.step()
    assert sim.order == []
    await sim.stop()


async def test_account_rate_limit(store: SQLiteStore, acme: Account) -> None:
    await store.update_account(acme.id, tps=20)
    sim = Recording(store)
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)
    ids = await submit(
        store, acme, [Submission(phone=f"+796511{i:05d}", text="x") for i in range(50)]
    )
    started = time.time()

    async def all_sent() -> bool:
        return len(sim.order) == len(ids)

    await run_until(dispatcher, all_sent)
    elapsed = time.time() - started
    # a burst of 20, then 20 per second: 50 messages need at least 1.5 s
    assert elapsed >= 1.4
    # the bucket starts full (20) and refills 20 per second: at most 40 within the first second
    first_second = sum(1 for t in sim.times if t < started + 1.0)
    assert first_second <= 41
    await sim.stop()


async def took(sim: Recording, messages: Sequence[Message]) -> None:
    """The carrier took `messages`, and the engine died before it recorded that: their lines
    are committed as a router commits them (before the record), not the record itself."""
    lines = sim.unlogged(await sim.submit(messages))
    await sim.store.connector_log_note(sim.name, [e for _c, e in lines])


async def test_recovery_sends_nothing_twice(store: SQLiteStore, acme: Account) -> None:
    """A dispatcher died after claiming; some messages had reached the carrier, some had not."""
    sim = Recording(store)
    ids = await submit(
        store, acme, [Submission(phone=f"+79651111{i:03d}", text="x") for i in range(10)]
    )
    claimed = await store.claim_due(time.time(), 100, "dead-dispatcher", 60.0)
    assert len(claimed) == 10
    await took(sim, claimed[:4])  # the carrier took four before the crash
    sim.order.clear()
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)

    async def all_delivered() -> bool:
        return set(await statuses(store, acme, ids)) == {Status.DELIVERED}

    await run_until(dispatcher, all_delivered)
    assert sorted(sim.order) == sorted(m.id for m in claimed[4:])
    log = await store.connector_log_find("simulator", ids)
    assert sorted(e.message_id for e in log) == sorted(ids)  # each exactly once
    await sim.stop()


async def test_receipts_owed_before_a_crash_are_not_lost_to_recovery(
    store: SQLiteStore, acme: Account
) -> None:
    """After a restart the carrier's receipts may be recorded before the dispatcher has
    recovered its claims (the messages still read 'queued'): each must still count."""
    ids = await submit(
        store, acme, [Submission(phone=f"+79651112{i:03d}", text="x") for i in range(5)]
    )
    claimed = await store.claim_due(time.time(), 100, "dead-dispatcher", 60.0)
    await took(Recording(store), claimed)  # the carrier took them; then the engine died
    await asyncio.sleep(0.05)  # their receipts are due
    sim = Recording(store)  # the restarted engine's simulator
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)
    while await store.connector_log_pending("simulator"):  # receipts first, recovery after
        await asyncio.sleep(0.01)

    async def all_delivered() -> bool:
        return set(await statuses(store, acme, ids)) == {Status.DELIVERED}

    await run_until(dispatcher, all_delivered)
    assert sim.order == []  # none sent again
    await sim.stop()


async def test_the_simulators_line_commits_with_its_submitted_and_is_never_marked(
    store: SQLiteStore, acme: Account
) -> None:
    """On SQLite each connector-log line of the simulator goes in the transaction that records
    its message's SUBMITTED (never one of its own), and no line is marked reported: the
    delivered message settles it (none is pending once all are delivered)."""
    assert store._writer is not None and store._writer._conn is not None
    statements: list[str] = []
    store._writer._conn.set_trace_callback(statements.append)
    sim = Recording(store)
    dispatcher, reports = engine(store, sim)
    await sim.start(reports)
    ids = await submit(
        store, acme, [Submission(phone=f"+79651113{i:03d}", text="x") for i in range(20)]
    )

    async def all_delivered() -> bool:
        return set(await statuses(store, acme, ids)) == {Status.DELIVERED}

    await run_until(dispatcher, all_delivered)
    await sim.stop()
    store._writer._conn.set_trace_callback(None)
    transactions: list[list[str]] = [[]]
    for sql in statements:
        if sql.startswith("COMMIT"):
            transactions.append([])
        else:
            transactions[-1].append(sql)
    with_lines = [t for t in transactions if any("INTO connector_log" in s for s in t)]
    assert with_lines, "no line written"
    for t in with_lines:
        assert any(s.startswith("UPDATE messages\nSET status = 'submitted'") for s in t), t
    assert not any("UPDATE connector_log" in s for s in statements)
    assert await store.connector_log_pending("simulator") == []
    assert len(await store.connector_log_find("simulator", ids)) == len(ids)
