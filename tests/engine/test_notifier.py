"""The notifier against the real SQLite store, with a sender that answers at once."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Sequence

import pytest

from smsgate.app import callback_policies
from smsgate.core.models import Account, Report, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits
from smsgate.dialects import available
from smsgate.engine import notifier as notifier_module
from smsgate.engine.accept import Acceptor
from smsgate.engine.callbacks import CallbackRequest
from smsgate.engine.notifier import Notifier, _Turn
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store.base import CallbackAttempt, StoreUnavailable
from smsgate.store.sqlite import SQLiteStore


async def owed_callbacks(store: SQLiteStore, acme: Account, n: int) -> None:
    """n SUBMITTED events, each owing a native callback."""
    await store.update_account(acme.id, callback_urls={"native": "http://127.0.0.1:9/dr"})
    account = await store.get_account(acme.id)
    assert account is not None
    items = [Submission(phone=f"7900123{i:04d}", text="hi", sender="ACME") for i in range(n)]
    outcomes, _ = await Acceptor(store, Limits()).submit(account, "native", items)
    reports = Reports(store, CallbackRouter(callback_policies(available())), lambda _: None)
    await reports.reports(
        [
            Report(message_id=o.message.id, status=Status.SUBMITTED, at=time.time())
            for o in outcomes
            if o.message
        ]
    )


async def answered(request: CallbackRequest) -> tuple[int, bytes]:
    return 200, b""


async def test_callbacks_answered_together_are_marked_done_in_one_write(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await owed_callbacks(store, acme, 20)
    writes: list[int] = []
    done = store.outbox_done

    async def counting(ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt]) -> None:
        writes.append(len(ids))
        await done(ids, now, tried)

    monkeypatch.setattr(store, "outbox_done", counting)
    notifier = Notifier(store, callback_policies(available()), answered, concurrency=64)
    assert len(await store.outbox_items(state="pending")) == 20
    await notifier.step()
    await notifier.drain()
    assert writes == [20]
    assert {i.attempts for i in await store.outbox_items(state="done")} == {1}
    assert await store.outbox_items(state="pending") == []


async def test_deliveries_do_not_wait_for_their_done_write(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Done marks of callbacks answered within DONE_EVERY share one write that nobody waits
    for: a slow disk does not hold the next callbacks back, and until the write commits the
    rows stay leased (not sent twice)."""
    await owed_callbacks(store, acme, 10)
    monkeypatch.setattr(notifier_module, "DONE_EVERY", 0.3)
    release = asyncio.Event()
    writes: list[int] = []
    done = store.outbox_done

    async def slow_write(ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt]) -> None:
        writes.append(len(ids))
        await release.wait()
        await done(ids, now, tried)

    monkeypatch.setattr(store, "outbox_done", slow_write)
    sent: list[CallbackRequest] = []

    async def one_by_one(request: CallbackRequest) -> tuple[int, bytes]:
        sent.append(request)
        await asyncio.sleep(0.001)
        return 200, b""

    notifier = Notifier(store, callback_policies(available()), one_by_one, concurrency=2)
    await notifier.step()
    async with asyncio.timeout(5):
        while len(sent) < 10:  # two workers, ten callbacks: none waited for a done mark
            await asyncio.sleep(0.005)
        assert writes == []
        while not writes:
            await asyncio.sleep(0.01)
    assert writes == [10]
    assert not await notifier.step()  # still leased while their done mark is being written
    assert len(sent) == 10
    release.set()
    await notifier.drain()
    assert len(await store.outbox_items(state="done")) == 10


async def test_a_failed_done_write_leaves_the_callback_owed(
    store: SQLiteStore, acme: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At least once: a callback the client took but not marked done is sent again later."""
    await owed_callbacks(store, acme, 3)

    async def failing(ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt]) -> None:
        raise StoreUnavailable("disk gone")

    monkeypatch.setattr(store, "outbox_done", failing)
    notifier = Notifier(store, callback_policies(available()), answered)
    await notifier.step()
    await notifier.drain()
    await asyncio.sleep(0)
    owed = await store.outbox_items(state="pending")
    assert len(owed) == 3


async def test_no_more_callbacks_in_flight_than_the_concurrency(
    store: SQLiteStore, acme: Account
) -> None:
    await owed_callbacks(store, acme, 10)
    in_flight, most = 0, 0
    gate = asyncio.Event()

    async def slow(request: CallbackRequest) -> tuple[int, bytes]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await gate.wait()
        in_flight -= 1
        return 200, b""

    notifier = Notifier(store, callback_policies(available()), slow, concurrency=3)
    stepping = asyncio.create_task(notifier.step())
    while in_flight < 3:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert in_flight == 3
    assert not stepping.done()  # no new claim while this one's callbacks wait for a slot
    gate.set()
    await stepping
    await notifier.drain()
    assert most == 3
    assert len(await store.outbox_items(state="done")) == 10


async def _submitted_then_delivered(
    store: SQLiteStore, acme: Account, phone: str = "79001230000"
) -> None:
    """One message with a callback URL, reported "submitted" then "delivered": both of its
    callbacks are owed when the notifier next claims."""
    await store.update_account(acme.id, callback_urls={"native": "http://127.0.0.1:9/dr"})
    account = await store.get_account(acme.id)
    assert account is not None
    one = Submission(phone=phone, text="hi", sender="ACME")
    [outcome], _ = await Acceptor(store, Limits()).submit(account, "native", [one])
    assert outcome.message is not None
    reports = Reports(store, CallbackRouter(callback_policies(available())), lambda _: None)
    for status in (Status.SUBMITTED, Status.DELIVERED):
        await reports.reports([Report(message_id=outcome.message.id, status=status, at=0.0)])


async def test_a_messages_callbacks_go_out_in_the_order_of_its_events(
    store: SQLiteStore, acme: Account
) -> None:
    await _submitted_then_delivered(store, acme)
    sent: list[str] = []
    answer_submitted = asyncio.Event()

    async def held(request: CallbackRequest) -> tuple[int, bytes]:
        status = json.loads(request.body)["status"]
        sent.append(status)
        if status == "submitted":  # the client is slow to answer the first one
            await answer_submitted.wait()
        return 200, b""

    notifier = Notifier(store, callback_policies(available()), held, concurrency=4)
    stepping = asyncio.create_task(notifier.step())
    async with asyncio.timeout(10):  # the claim and the first send: slow on a loaded machine
        while not sent:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time for a "delivered" sent out of turn to show
    assert sent == ["submitted"]  # "delivered" waits for the client's answer to "submitted"
    answer_submitted.set()
    await stepping
    await notifier.drain()
    assert sent == ["submitted", "delivered"]
    assert len(await store.outbox_items(state="done")) == 2


async def test_a_message_waiting_for_its_answer_holds_one_slot_not_two(
    store: SQLiteStore, acme: Account
) -> None:
    """A message's callbacks of one claim are one chain, sent one after another by one
    worker: its "delivered" waiting for the answer to its "submitted" takes no slot of its
    own, so another message's callbacks go out meanwhile (before, with two slots, the first
    message's two callbacks held both)."""
    await _submitted_then_delivered(store, acme, "79001230000")
    await _submitted_then_delivered(store, acme, "79001230001")
    sent: list[tuple[str, str]] = []
    answer_first = asyncio.Event()

    async def first_slow(request: CallbackRequest) -> tuple[int, bytes]:
        body = json.loads(request.body)
        sent.append((body["message"]["to"], body["status"]))
        if len(sent) == 1:  # the client is slow to answer the first message's "submitted"
            await answer_first.wait()
        return 200, b""

    notifier = Notifier(store, callback_policies(available()), first_slow, concurrency=2)
    stepping = asyncio.create_task(notifier.step())
    async with asyncio.timeout(10):  # the other message's two go out while the first waits
        while len(sent) < 3:
            await asyncio.sleep(0.01)
    first = sent[0][0]
    assert sent[0] == (first, "submitted")
    assert [s for s in sent[1:] if s[0] != first] == [
        (sent[1][0], "submitted"),
        (sent[1][0], "delivered"),
    ]
    assert (first, "delivered") not in sent
    answer_first.set()
    await stepping
    await notifier.drain()
    assert sent[3] == (first, "delivered")
    assert len(await store.outbox_items(state="done")) == 4


async def test_a_turn_with_none_ahead_has_nothing_to_wait_for() -> None:
    """Nearly every request finds no earlier one of its messages in flight: its turn is taken
    with nothing to await (no future made); one behind it waits for its answer, and is told
    its retry time."""
    in_flight: dict[str, notifier_module._Turn] = {}
    first = _Turn(in_flight, ["m1"])
    assert first.enter() is None
    second = _Turn(in_flight, ["m1", "m2"])
    waiting = second.enter()
    assert waiting is not None and in_flight == {"m1": second, "m2": second}
    task = asyncio.ensure_future(waiting)
    await asyncio.sleep(0.01)
    assert not task.done()
    first.retry_at(123.0)
    first.release()
    await asyncio.wait_for(task, 1.0)
    assert second.behind == 123.0
    second.release()
    assert in_flight == {}


async def test_a_callback_cancelled_in_line_does_not_hold_up_the_next() -> None:
    in_flight: dict[str, notifier_module._Turn] = {}
    first = _Turn(in_flight, ["m1"])
    await first.__aenter__()  # the first callback of m1, being sent

    async def second() -> None:
        async with _Turn(in_flight, ["m1"]):  # waits for the first
            raise AssertionError("not reached: cancelled while waiting")

    waiting = asyncio.create_task(second())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await first.__aexit__(None, None, None)
    async with asyncio.timeout(1.0), _Turn(in_flight, ["m1"]):  # the third goes out
        pass
    assert in_flight == {}


async def test_a_failed_callback_holds_the_later_ones_of_its_message_back(
    store: SQLiteStore, acme: Account
) -> None:
    """The client failed "submitted": "delivered" waits for its retry, and goes after it,
    never before (docs/native.md, "Callbacks")."""
    await _submitted_then_delivered(store, acme)
    sent: list[str] = []

    async def first_fails(request: CallbackRequest) -> tuple[int, bytes]:
        sent.append(json.loads(request.body)["status"])
        return (500, b"down") if len(sent) == 1 else (200, b"")

    policies = callback_policies(available(), delay_scale=0.01)  # the first retry in 50 ms
    notifier = Notifier(store, policies, first_fails, concurrency=4)
    await notifier.step()
    await notifier.drain()
    assert sent == ["submitted"]  # "delivered" was not sent after it failed
    pending = await store.outbox_items(state="pending")
    assert len(pending) == 2  # both owed: "submitted" to retry, "delivered" held back
    await asyncio.sleep(0.1)
    await notifier.step()
    await notifier.drain()
    assert sent == ["submitted", "submitted", "delivered"]
    assert len(await store.outbox_items(state="done")) == 2


async def test_a_callback_whose_message_is_gone_is_given_up_unsent(
    store: SQLiteStore, acme: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback's payload is rendered from its event and message as it is claimed: with
    those rows gone (deleted by hand) there is nothing to send, and it is given up, logged,
    rather than tried again forever."""
    await owed_callbacks(store, acme, 2)
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("DELETE FROM events")
    conn.close()
    sent: list[CallbackRequest] = []

    async def sender(request: CallbackRequest) -> tuple[int, bytes]:
        sent.append(request)
        return 200, b""

    notifier = Notifier(store, callback_policies(available()), sender)
    with caplog.at_level(logging.WARNING, "smsgate.notifier"):
        await notifier.step()
        await notifier.drain()
    assert sent == []
    assert len(await store.outbox_items(state="dead")) == 2
    assert await store.outbox_items(state="pending") == []
    assert caplog.text.count("callbacks given up, their message is gone: 1 of acme") == 2
