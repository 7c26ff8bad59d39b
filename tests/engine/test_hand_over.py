"""Callbacks the engine hands to the notifier process at their commit (engine/handoff.py):
sent without a claim, in their message's order, and never lost when either process dies
between the commit and the answer (the leases lapse, or the next notifier frees them)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from smsgate.app import callback_policies
from smsgate.core.models import Account, Report, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits
from smsgate.dialects import available
from smsgate.engine.accept import Acceptor
from smsgate.engine.callbacks import CallbackRequest
from smsgate.engine.handoff import PipeHandOver, PipeReader
from smsgate.engine.notifier import Notifier
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store.base import EVERY_DIALECT, Handing, HandOver, OutboxItem, Ticket
from smsgate.store.sqlite import SQLiteStore

LEASE = 120.0


class Kept(HandOver):
    """The engine's side as the test drives it: tickets for `owner`, what it gave kept."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.items: list[OutboxItem] = []
        self.handing = Handing(time.time())

    def ticket(self) -> Ticket | None:
        return Ticket(self.owner, time.time() + LEASE, EVERY_DIALECT, self.handing)

    def give(self, owner: str, items: Sequence[OutboxItem]) -> None:
        self.items += items


class Receiver:
    """A client's callback handler: what it was sent (event id, status), and its answers."""

    def __init__(self, failing: int = 0) -> None:
        self.seen: list[tuple[str, str]] = []
        self.failing = failing  # the first ones are answered 500

    async def __call__(self, request: CallbackRequest) -> tuple[int, bytes]:
        body = json.loads(request.body)
        self.seen.append((request.headers["X-Smsgate-Event-Id"], body["status"]))
        if len(self.seen) <= self.failing:
            return 500, b"down"
        return 200, b""


async def _messages(store: SQLiteStore, acme: Account, n: int) -> list[str]:
    await store.update_account(acme.id, callback_urls={"native": "http://127.0.0.1:9/dr"})
    account = await store.get_account(acme.id)
    assert account is not None
    items = [Submission(phone=f"7900123{i:04d}", text="hi", sender="ACME") for i in range(n)]
    outcomes, _ = await Acceptor(store, Limits()).submit(account, "native", items)
    return [o.message.id for o in outcomes if o.message]


async def _report(store: SQLiteStore, ids: Sequence[str], status: Status, to: HandOver) -> None:
    router = CallbackRouter(callback_policies(available()))
    reports = Reports(store, router, lambda _: None, hand_over=to)
    await reports.reports([Report(message_id=i, status=status, at=time.time()) for i in ids])


def _notifier(store: SQLiteStore, send: Receiver) -> Notifier:
    return Notifier(store, callback_policies(available()), send, poll=0.02, lease=LEASE)


async def _until(what: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not what():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def _handed(store: SQLiteStore, acme: Account, n: int) -> tuple[list[str], Kept]:
    """`n` messages submitted then delivered, their callbacks handed to 'notifier-1'."""
    ids = await _messages(store, acme, n)
    engine = Kept("notifier-1")
    await _report(store, ids, Status.SUBMITTED, engine)
    await _report(store, ids, Status.DELIVERED, engine)
    assert len(engine.items) == 2 * n
    return ids, engine


async def _run_until(store: SQLiteStore, n: int, handed: Sequence[OutboxItem] = ()) -> Receiver:
    """A notifier on `store`, given `handed`, run until its client has `n` callbacks; then
    its done marks written and the store closed."""
    send = Receiver()
    notifier = _notifier(store, send)
    notifier.take(handed)
    task = asyncio.create_task(notifier.run())
    try:
        await _until(lambda: len(send.seen) == n)
        await notifier.drain()
    finally:
        task.cancel()
        await store.close()
    return send


async def _notifier_store(tmp_path: Path) -> SQLiteStore:
    """The notifier process's store, on the engine's database, leasing as 'notifier-1'."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/engine.db", owner="notifier-1")
    await store.open()
    return store


async def test_handed_callbacks_go_out_without_a_claim(
    store: SQLiteStore, acme: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, engine = await _handed(store, acme, 5)
    theirs = await _notifier_store(tmp_path)
    claimed: list[int] = []
    claim = theirs.outbox_claim

    async def counted(*args: object, **kwargs: object) -> list[OutboxItem]:
        found = await claim(*args, **kwargs)  # type: ignore[arg-type]
        claimed.extend(i.id for i in found)
        return found

    monkeypatch.setattr(theirs, "outbox_claim", counted)
    send = await _run_until(theirs, 10, engine.items)
    assert claimed == []
    for m in ids:  # each message's submitted before its delivered
        events = [s for e, s in send.seen if e in _events_of(engine.items, m)]
        assert events == ["submitted", "delivered"]
    assert len(await store.outbox_items(state="done")) == 10


def _events_of(items: Sequence[OutboxItem], message_id: str) -> set[str]:
    return {
        i.event_id
        for i in items
        if i.notice is not None and i.notice.message is not None
        if i.notice.message.id == message_id
    }


async def test_a_handed_later_status_waits_for_an_earlier_one_s_retry(
    store: SQLiteStore, acme: Account, tmp_path: Path
) -> None:
    """`delivered` was handed over while its `submitted` was in the notifier's hands (so the
    engine's rule let it go), and `submitted` then failed: `delivered` waits for its retry."""
    [m] = await _messages(store, acme, 1)
    engine = Kept("notifier-1")
    await _report(store, [m], Status.SUBMITTED, engine)
    await _report(store, [m], Status.DELIVERED, engine)
    submitted, delivered = engine.items
    theirs = await _notifier_store(tmp_path)
    send = Receiver(failing=1)
    notifier = _notifier(theirs, send)
    task = asyncio.create_task(notifier.run())
    try:
        notifier.take([submitted])
        await _until(lambda: len(send.seen) == 1)
        await _until(lambda: notifier._behind)  # its retry is marked
        notifier.take([delivered])
        await asyncio.sleep(0.3)
        assert send.seen == [(submitted.event_id, "submitted")]  # failed; nothing after it
        [row] = [i for i in await store.outbox_items(state="pending") if i.id == delivered.id]
        assert row.attempts == 0  # held back, not tried
    finally:
        task.cancel()
        await notifier.drain()
        await theirs.close()
    retry_at = notifier._behind[m]
    assert retry_at > time.time()
    later = await store.outbox_claim(time.time(), 10, LEASE)
    assert later == []  # held back in the outbox until the retry
    both = await store.outbox_claim(retry_at + 1, 10, LEASE)
    assert [i.id for i in both] == [submitted.id, delivered.id]


@pytest.mark.parametrize("window", ["engine died before giving", "notifier died holding them"])
async def test_callbacks_handed_to_a_notifier_that_died_still_go_out(
    store: SQLiteStore, acme: Account, tmp_path: Path, window: str
) -> None:
    """kill -9 of the engine after the commit and before the hand-over, or of the notifier
    with the handed-over callbacks in memory: leased to a notifier that will never send them.
    The next notifier process (a new owner) frees those leases as it starts and sends every
    one, with the same event ids."""
    _ids, engine = await _handed(store, acme, 4)
    first = await _notifier_store(tmp_path)
    if window == "notifier died holding them":
        dead = _notifier(first, Receiver())
        dead.take(engine.items)  # in its memory; never sent
    await first.close()
    restarted = SQLiteStore(f"sqlite:///{tmp_path}/engine.db", owner="notifier-2")
    await restarted.open()
    send = await _run_until(restarted, 8)
    assert sorted(e for e, _s in send.seen) == sorted(i.event_id for i in engine.items)
    assert await store.outbox_items(state="pending") == []


def _item(row: int, url: str) -> OutboxItem:
    return OutboxItem(
        id=row,
        event_id=f"ev-{row}",
        account_id=1,
        dialect="native",
        kind="dr",
        url=url,
        payload=b"",
        attempts=0,
        created_at=1.0,
    )


async def test_callbacks_cross_the_pipe_to_their_owner_only() -> None:
    """What the engine gives goes down the pipe as msgspec frames, read back whole by the
    notifier it was leased to; frames for an owner before it are dropped."""
    read, write = os.pipe()
    engine = PipeHandOver(LEASE, EVERY_DIALECT)
    engine.attach("notifier-1", write)
    got: list[OutboxItem] = []

    def take(items: list[OutboxItem]) -> bool:
        got.extend(items)
        return True

    inbox = PipeReader(read, "notifier-1")
    inbox.start(take)
    item = _item(7, "http://cb/dr")
    ticket = engine.ticket()
    assert ticket is not None and ticket.owner == "notifier-1"
    engine.give("notifier-0", [item])  # leased to a notifier gone since: not sent
    engine.give("notifier-1", [item] * 3)
    await _until(lambda: len(got) == 3)
    assert got == [item] * 3
    inbox.pause()
    engine.detach()
    os.close(read)


async def test_a_notifier_behind_makes_the_engine_lease_no_more() -> None:
    """Back-pressure: a notifier that takes no more stops reading its pipe; once the pipe and
    the engine's own buffer hold `most`, the engine hands over no more, and its callbacks wait
    for the claim."""
    read, write = os.pipe()
    engine = PipeHandOver(LEASE, EVERY_DIALECT, most=64 * 1024)
    engine.attach("notifier-1", write)
    taken: list[int] = []

    def full(items: list[OutboxItem]) -> bool:
        taken.append(len(items))
        return False  # behind: read no more

    inbox = PipeReader(read, "notifier-1")
    inbox.start(full)
    item = _item(1, "http://cb/dr/" + "x" * 1000)
    for _ in range(3000):
        ticket = engine.ticket()
        assert ticket is not None
        if not ticket.scope.covers("native"):
            break
        engine.give("notifier-1", [item])
        await asyncio.sleep(0)
    ticket = engine.ticket()  # one for no dialect: the rule still notes what it keeps back
    assert ticket is not None and not ticket.scope.covers("native")
    assert len(taken) >= 1 and sum(taken) < 3000
    engine.detach()
    inbox.pause()
    os.close(read)
