"""An idle engine waits for wake-ups and looks on its own only seldom (engine/idle.py): the
dispatcher's and the notifier's looks back off from `poll` to `idle_poll`, and a wake-up is
still answered at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from smsgate.app import callback_policies
from smsgate.core.models import Account, Submission
from smsgate.core.validate import Limits
from smsgate.dialects import available
from smsgate.engine.accept import Acceptor
from smsgate.engine.callbacks import CallbackRequest
from smsgate.engine.dispatcher import ONE_ENGINE_SPACING, Dispatcher
from smsgate.engine.idle import IdleWait, claim_wait
from smsgate.engine.notifier import Notifier
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store.sqlite import SQLiteStore
from tests.engine.conftest import Recording
from tests.engine.test_notifier import owed_callbacks


def test_idle_wait_doubles_up_to_its_ceiling_and_starts_short_again() -> None:
    idle = IdleWait(0.02, 1.0)
    waits = [idle.next() for _ in range(9)]
    assert waits == [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0, 1.0]
    idle.reset()
    assert idle.next() == 0.02
    assert IdleWait(2.0, 1.0).next() == 2.0  # a ceiling below the first wait is the first


def test_only_a_claim_that_took_few_makes_the_next_wait() -> None:
    assert claim_wait(10, 0.005, few=64, spacing=0.02) == pytest.approx(0.015)
    assert claim_wait(10, 0.5, few=64, spacing=0.02) == 0.0  # long enough ago
    assert claim_wait(64, 0.0, few=64, spacing=0.02) == 0.0  # a full claim: at once
    assert claim_wait(0, 0.0, few=64, spacing=0.02) == 0.0  # none: idle, a wake-up answered now


async def _claim_gap(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> float:
    """Seconds between the claim that takes three new messages and the next one."""
    sim = Recording(store)
    reports = Reports(store, CallbackRouter({}), lambda number: None)
    dispatcher = Dispatcher(store, sim, reports, poll=0.01, **options)
    items = [Submission(phone=f"7900123456{i}", text="hi", sender="ACME") for i in range(3)]
    await Acceptor(store, Limits()).submit(acme, "native", items)
    times: list[float] = []
    real = store.claim_due

    async def timed(*args: Any) -> Any:
        times.append(time.monotonic())
        return await real(*args)

    monkeypatch.setattr(store, "claim_due", timed)
    assert await dispatcher.step()  # claims the three
    await dispatcher.step()  # finds none
    await dispatcher.drain()
    monkeypatch.undo()
    return times[1] - times[0]


async def test_a_shared_queue_claims_again_late_only_after_a_small_claim(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a shared database (not exclusive) the claim after one that took 3 messages comes
    `claim_spacing` later."""
    gap = await _claim_gap(store, acme, monkeypatch, exclusive=False, claim_spacing=0.2)
    assert gap >= 0.19


async def test_the_one_engine_claims_again_late_after_less_than_a_full_batch(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's one engine waits ONE_ENGINE_SPACING after a claim of less than its batch (each
    claim costs its transactions whatever its size), and claims again at once after a full
    one."""
    small = await _claim_gap(store, acme, monkeypatch, exclusive=True, batch=4)
    assert small >= ONE_ENGINE_SPACING - 0.005
    full = await _claim_gap(store, acme, monkeypatch, exclusive=True, batch=3)
    assert full < ONE_ENGINE_SPACING / 2


async def _counted_for(
    store: SQLiteStore, name: str, monkeypatch: pytest.MonkeyPatch, seconds: float, loop: Any
) -> int:
    """How often `store.<name>` is called while `loop` runs for `seconds`."""
    calls = 0
    real = getattr(store, name)

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, name, counting)
    task = asyncio.create_task(loop())
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return calls


async def test_an_idle_dispatcher_looks_seldom_yet_answers_a_wakeup_at_once(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = Recording(store)
    reports = Reports(store, CallbackRouter({}), lambda number: None)
    dispatcher = Dispatcher(store, sim, reports, poll=0.01, idle_poll=0.5)
    # 1.2 s at poll=0.01 were ~120 looks; backing off to 0.5 s: 0.01+0.02+...+0.5+0.5, < 12.
    claims = await _counted_for(store, "claim_due", monkeypatch, 1.2, dispatcher.run)
    assert 3 <= claims <= 12

    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(1.2)  # long idle: its next look is 0.5 s away
    acceptor = Acceptor(store, Limits(), on_accept=dispatcher.wakeup.set)
    items = [Submission(phone="79001234567", text="hi", sender="ACME")]
    await acceptor.submit(acme, "native", items)  # committed (fsynced) before it wakes
    started = time.monotonic()
    try:
        while not sim.order:
            assert time.monotonic() - started < 0.3, "the wake-up was not answered at once"
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await dispatcher.drain()


async def test_an_idle_notifier_looks_seldom_yet_answers_a_wakeup_at_once(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[CallbackRequest] = []

    async def answered(request: CallbackRequest) -> tuple[int, bytes]:
        sent.append(request)
        return 200, b""

    policies = callback_policies(available())
    notifier = Notifier(store, policies, answered, poll=0.01, idle_poll=0.5)
    claims = await _counted_for(store, "outbox_claim", monkeypatch, 1.2, notifier.run)
    assert 3 <= claims <= 12  # ~120 at poll=0.01 before the back-off

    notifier = Notifier(store, policies, answered, poll=0.01, idle_poll=5.0)
    task = asyncio.create_task(notifier.run())
    await asyncio.sleep(1.2)  # long idle: its next look is about a second away
    await owed_callbacks(store, acme, 3)
    started = time.monotonic()
    notifier.wakeup.set()
    try:
        while len(sent) < 3:
            assert time.monotonic() - started < 0.5, "the wake-up was not answered at once"
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await notifier.drain()


async def test_a_retry_due_while_idle_is_found_without_a_wakeup(
    store: SQLiteStore, acme: Account
) -> None:
    """Looking is for what nobody announces: a callback whose retry comes due goes out, late
    by at most the idle time so far (the waits double), not by `idle_poll`."""
    answers = [500, 200]
    sent: list[float] = []

    async def fails_once(request: CallbackRequest) -> tuple[int, bytes]:
        sent.append(time.monotonic())
        return answers.pop(0) if answers else 200, b""

    await owed_callbacks(store, acme, 1)
    policies = callback_policies(available(), 0.0001)  # retries after a fraction of a second
    notifier = Notifier(store, policies, fails_once, poll=0.01, idle_poll=30.0)
    task = asyncio.create_task(notifier.run())
    try:
        deadline = time.monotonic() + 5.0
        while len(sent) < 2:
            assert time.monotonic() < deadline, "the retry was never sent"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await notifier.drain()
