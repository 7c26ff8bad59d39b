"""Callbacks handed over at their commit (rules.hand_over, store.base.HandOver; SQLite): the
receipts' commit leases them to the notifier process named by the ticket, and gives them to it
rendered after the commit, so that it needs no claim. The claim keeps everything else."""

from __future__ import annotations

import time
from collections.abc import Sequence

from smsgate.core.models import Report, StatusEvent
from smsgate.core.status import Status
from smsgate.store import rules
from smsgate.store.base import EVERY_DIALECT, Handing, HandOver, OutboxItem, OutboxScope, Ticket
from smsgate.store.rules import Sibling, hand_over
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message, route

LEASE = 60.0


class Taken(HandOver):
    """A hand-over that keeps what it is given (None owner: it hands nothing over)."""

    def __init__(self, owner: str | None, scope: OutboxScope = EVERY_DIALECT) -> None:
        self.owner = owner
        self.scope = scope
        self.given: list[tuple[str, list[OutboxItem]]] = []
        self.handing = Handing(float("inf"))  # every message's owed callbacks are read

    def ticket(self) -> Ticket | None:
        if self.owner is None:
            return None
        return Ticket(self.owner, time.time() + LEASE, self.scope, self.handing)

    def give(self, owner: str, items: Sequence[OutboxItem]) -> None:
        self.given.append((owner, list(items)))

    def items(self) -> list[OutboxItem]:
        return [i for _owner, items in self.given for i in items]


async def _sent(store: SQLiteStore, n: int = 1) -> list[str]:
    a = await make_account(store, callback_urls={"native": "http://cb/dr"})
    batch = [message(a.id, phone=f"7965000{i:04d}", status=Status.QUEUED) for i in range(n)]
    await store.accept(a.id, batch)
    return [m.id for m in batch]


async def _report(
    store: SQLiteStore, ids: Sequence[str], status: Status, to: HandOver | None
) -> None:
    reports = [Report(message_id=i, status=status, at=time.time()) for i in ids]
    await store.record_reports(reports, route, (), to)


def _status(item: OutboxItem) -> str:
    notice = item.subject()
    assert notice is not None and notice.event is not None and notice.message is not None
    assert notice.message.status == notice.event.status  # the message as of its event
    return notice.event.status.value


async def test_handed_callbacks_are_leased_in_their_commit_and_given_rendered(
    sqlite_store: SQLiteStore,
) -> None:
    ids = await _sent(sqlite_store, 3)
    to = Taken("notifier-1")
    await _report(sqlite_store, ids, Status.SUBMITTED, to)
    [(owner, items)] = to.given
    assert owner == "notifier-1"
    rows = {i.id: i for i in await sqlite_store.outbox_items(state="pending")}
    assert sorted(i.id for i in items) == sorted(rows)  # every row, by its id
    for item in items:
        assert _status(item) == "submitted"
        assert item.event_id == rows[item.id].event_id and item.url == "http://cb/dr"
        assert item.subject() == rows[item.id].subject()  # as a claim would render it
    # Leased: no claim takes them until the lease lapses.
    assert await sqlite_store.outbox_claim(time.time(), 10, LEASE) == []
    later = await sqlite_store.outbox_claim(time.time() + LEASE + 1, 10, LEASE)
    assert sorted(i.id for i in later) == sorted(rows)


async def test_without_a_ticket_the_claim_takes_them(sqlite_store: SQLiteStore) -> None:
    ids = await _sent(sqlite_store, 2)
    to = Taken(None)
    await _report(sqlite_store, ids, Status.SUBMITTED, to)
    assert to.given == []
    assert len(await sqlite_store.outbox_claim(time.time(), 10, LEASE)) == 2


async def test_only_the_scope_s_dialects_are_handed_over(sqlite_store: SQLiteStore) -> None:
    ids = await _sent(sqlite_store, 2)
    to = Taken("notifier-1", OutboxScope(skip=frozenset({"native"})))
    await _report(sqlite_store, ids, Status.SUBMITTED, to)
    assert to.items() == []
    assert len(await sqlite_store.outbox_claim(time.time(), 10, LEASE)) == 2


async def test_a_later_status_follows_an_earlier_the_notifier_holds(
    sqlite_store: SQLiteStore,
) -> None:
    [m] = await _sent(sqlite_store)
    to = Taken("notifier-1")
    await _report(sqlite_store, [m], Status.SUBMITTED, to)
    await _report(sqlite_store, [m], Status.DELIVERED, to)
    assert [_status(i) for i in to.items()] == ["submitted", "delivered"]


async def test_a_later_status_is_not_handed_over_while_an_earlier_waits_for_its_retry(
    sqlite_store: SQLiteStore,
) -> None:
    """Its `submitted` failed and waits for its retry: `delivered` must not go first, so it is
    left to the claim, whose order holds it back until then."""
    [m] = await _sent(sqlite_store)
    to = Taken("notifier-1")
    await _report(sqlite_store, [m], Status.SUBMITTED, to)
    [submitted] = to.items()
    retry_at = time.time() + 30
    await sqlite_store.outbox_retry([submitted.id], retry_at, "HTTP 500")
    await _report(sqlite_store, [m], Status.DELIVERED, to)
    assert [_status(i) for i in to.items()] == ["submitted"]  # nothing more handed over
    assert await sqlite_store.outbox_claim(time.time(), 10, LEASE) == []  # held back
    both = await sqlite_store.outbox_claim(retry_at + 1, 10, LEASE)
    assert [_status(i) for i in both] == ["submitted", "delivered"]


async def test_a_later_status_waits_for_an_earlier_another_notifier_holds(
    sqlite_store: SQLiteStore,
) -> None:
    [m] = await _sent(sqlite_store)
    await _report(sqlite_store, [m], Status.SUBMITTED, Taken("notifier-1"))
    to = Taken("notifier-2")  # a notifier started since: the first one's lease is not its
    await _report(sqlite_store, [m], Status.DELIVERED, to)
    assert to.items() == []


async def test_a_callback_owed_twice_is_stored_and_handed_over_once(
    sqlite_store: SQLiteStore,
) -> None:
    [m] = await _sent(sqlite_store)
    to = Taken("notifier-1")

    def twice(*args: object) -> list[tuple[str, str]]:
        return [("native", "http://cb/dr"), ("native", "http://cb/dr"), ("native", "http://x")]

    reports = [Report(message_id=m, status=Status.SUBMITTED, at=time.time())]
    await sqlite_store.record_reports(reports, twice, (), to)
    rows = await sqlite_store.outbox_items(state="pending")
    assert sorted(i.url for i in rows) == ["http://cb/dr", "http://x"]
    assert sorted((i.id, i.url) for i in to.items()) == sorted((i.id, i.url) for i in rows)


def test_the_rule_keeps_a_message_s_later_callbacks_behind_one_not_handed_over() -> None:
    """Two callbacks of one message in one batch: the first, of a dialect out of scope, stays
    for the claim, and so does the second, though its own dialect is in scope."""
    now = 1_000_000.0
    events = [
        (queued, StatusEvent(seq=seq, message_id=m, account_id=1, status=Status.SUBMITTED, at=now))
        for seq, m in ((7, "m1"), (8, "m2"))
    ]
    rows = [
        ("ev-7", 1, "smpp", "dr", "smpp://bind", b"", now),
        ("ev-7", 1, "native", "dr", "http://cb", b"", now),
        ("ev-8", 1, "native", "dr", "http://cb", b"", now),
    ]
    scope = OutboxScope(skip=frozenset({"smpp"}))

    def ticket() -> Ticket:
        return Ticket("n1", now + LEASE, scope, Handing(0.0))

    assert hand_over(rows, events, [], now, ticket()) == [False, False, True]
    retrying = Sibling(1, "m2", "pending", now + 30, None, None)
    assert hand_over(rows, events, [retrying], now, ticket()) == [False, False, False]
    held_by_it = Sibling(1, "m2", "pending", now, now + 60, "n1")
    assert hand_over(rows, events, [held_by_it], now, ticket()) == [False, False, True]
    held_by_another = Sibling(1, "m2", "pending", now, now + 60, "n0")
    assert hand_over(rows, events, [held_by_another], now, ticket()) == [False, False, False]


def test_only_messages_the_hand_over_does_not_know_read_their_owed_callbacks() -> None:
    """A message accepted since the hand-over to this notifier began, none of whose callbacks
    was kept back, owes none outside its hands: its callbacks need no read of the outbox."""
    now = 1_000_000.0
    handing = Handing(now)
    old = message(1, status=Status.QUEUED, created_at=now - 1)
    new, kept = (message(1, status=Status.QUEUED, created_at=now + 1) for _ in range(2))
    events = [
        (m, StatusEvent(seq=seq, message_id=m.id, account_id=1, status=Status.SUBMITTED, at=now))
        for seq, m in enumerate((old, new, kept), 1)
    ]
    rows = [(f"ev-{seq}", 1, "native", "dr", "http://cb", b"", now) for seq in (1, 2, 3)]
    scope = OutboxScope(skip=frozenset({"smpp"}))
    assert rules.owed_unknown(events, handing) == {old.id}
    ticket = Ticket("n1", now + LEASE, OutboxScope(only=frozenset({"smpp"})), handing)
    assert hand_over(rows[2:], events, [], now, ticket) == [False]  # out of its scope: kept
    assert rules.owed_unknown(events, handing) == {old.id, kept.id}
    final = StatusEvent(seq=4, message_id=kept.id, account_id=1, status=Status.DELIVERED, at=now)
    row = ("ev-4", 1, "native", "dr", "http://cb", b"", now)
    assert hand_over([row], [(kept, final)], [], now, ticket._replace(scope=scope)) == [True]
    assert handing.withheld == set()  # final: nothing after it to keep in order


queued = message(1, status=Status.QUEUED)
