"""Store contract: claims and leases, reports (events, refunds, callbacks), cancel, counts."""

from __future__ import annotations

import time

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Message, Report
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.store.helpers import make_account, message, route


async def accepted(store: Store, account_id: int, *messages: Message) -> list[Message]:
    out = []
    for o in await store.accept(account_id, list(messages)):
        assert o.kind == "new" and o.message is not None
        out.append(o.message)
    return out


async def balance(store: Store, account_id: int) -> int:
    account = await store.get_account(account_id)
    assert account is not None
    return account.balance


async def test_claim_in_priority_order(store: Store) -> None:
    a = await make_account(store)
    b = await make_account(store, "b")
    low, high, mid, high2 = await accepted(
        store,
        a.id,
        message(a.id, priority=0),
        message(a.id, priority=5),
        message(a.id, priority=1),
        message(a.id, priority=5),
    )
    [other] = await accepted(store, b.id, message(b.id, priority=9))
    now = time.time()
    first = await store.claim_due(now, 3, "t1", 60.0, skip_accounts=[b.id])
    assert [m.id for m in first] == [high.id, high2.id, mid.id]
    assert {m.status for m in first} == {Status.QUEUED}  # as the claim left them
    for m in first:
        stored = await store.get_message(a.id, m.id)
        assert stored is not None and stored.status is Status.QUEUED
    rest = await store.claim_due(now, 10, "t1", 60.0)
    assert [m.id for m in rest] == [other.id, low.id]
    assert await store.claim_due(now, 10, "t2", 60.0) == []


async def test_schedules_come_due(store: Store) -> None:
    a = await make_account(store)
    now = time.time()
    [later] = await accepted(store, a.id, message(a.id, not_before=now + 30))
    assert await store.claim_due(now, 10, "t", 60.0) == []
    [claimed] = await store.claim_due(now + 31, 10, "t", 60.0)
    assert claimed.id == later.id


async def test_release_gives_messages_back(store: Store) -> None:
    a = await make_account(store)
    m1, m2 = await accepted(store, a.id, message(a.id), message(a.id))
    now = time.time()
    assert len(await store.claim_due(now, 10, "t", 60.0)) == 2
    await store.release([m1.id], None)
    await store.release([m2.id], now + 100)
    assert [m.id for m in await store.claim_due(now, 10, "t", 60.0)] == [m1.id]
    scheduled = await store.get_message(a.id, m2.id)
    assert scheduled is not None and scheduled.status is Status.SCHEDULED
    assert scheduled.not_before == now + 100
    assert [m.id for m in await store.claim_due(now + 101, 10, "t", 60.0)] == [m2.id]


async def test_lapsed_leases_are_found(store: Store) -> None:
    a = await make_account(store)
    m1, m2 = await accepted(store, a.id, message(a.id), message(a.id))
    now = time.time()
    await store.claim_due(now, 1, "dead", 10.0)
    await store.claim_due(now, 1, "mine", 100.0)
    assert await store.claimed_by_others(now + 5, "x") == []  # leases still good
    orphans = await store.claimed_by_others(now + 11, "mine", 10.0)
    assert [m.id for m in orphans] == [m1.id]  # not my own claim
    if not store.exclusive_dispatch:
        # Shared database: taken over by "mine", so no other node recovers it too...
        assert await store.claimed_by_others(now + 12, "third", 10.0) == []
        # ...unless "mine" dies as well.
        assert [m.id for m in await store.claimed_by_others(now + 22, "third", 10.0)] == [m1.id]
    assert m2.id not in {m.id for m in await store.claimed_by_others(now + 50, "x")}


async def test_renewed_leases_do_not_lapse(store: Store) -> None:
    a = await make_account(store)
    await accepted(store, a.id, message(a.id), message(a.id))
    now = time.time()
    await store.claim_due(now, 1, "alive", 10.0)
    await store.claim_due(now, 1, "other", 10.0)
    renewed = await store.renew_leases("alive", now + 100)
    if store.exclusive_dispatch:
        assert renewed == 0  # one dispatcher only: leases are never taken over
        return
    assert renewed == 1
    orphans = await store.claimed_by_others(now + 50, "me", 10.0)
    assert len(orphans) == 1  # only "other"'s lapsed


async def test_reports_make_events_and_callbacks(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb/dr"})
    [m] = await accepted(store, a.id, message(a.id))
    [claimed] = await store.claim_due(time.time(), 1, "t", 60.0)
    t = time.time()
    events = await store.record_reports(
        [Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c-1", at=t)], route
    )
    assert [e.status for e in events] == [Status.SUBMITTED] and events[0].seq > 0
    sent = await store.get_message(a.id, m.id)
    assert sent is not None and sent.status is Status.SUBMITTED and sent.submitted_at == t
    assert sent.carrier_id == "c-1"
    assert await store.message_by_carrier_id("c-1") == sent
    assert await store.message_by_carrier_id("c-2") is None
    # A legal change, a repeat and an illegal one in one call.
    events = await store.record_reports(
        [
            Report(message_id=m.id, status=Status.DELIVERED, at=t + 1),
            Report(message_id=m.id, status=Status.DELIVERED, at=t + 2),
            Report(message_id=m.id, status=Status.SUBMITTED, at=t + 3),
            Report(message_id="no-such-message", status=Status.DELIVERED, at=t),
        ],
        route,
    )
    assert [e.status for e in events] == [Status.DELIVERED]
    done = await store.get_message(a.id, m.id)
    assert done is not None and done.status is Status.DELIVERED and done.done_at == t + 1
    history = await store.events_of(a.id, m.id)
    assert [e.status for e in history] == [Status.SUBMITTED, Status.DELIVERED]
    assert await store.events_of(a.id + 1, m.id) == []
    after = await store.events_after(history[0].seq)
    assert [e.seq for e in after] == [history[1].seq]
    items = await store.outbox_items(a.id)
    assert [(i.event_id, i.url, i.dialect, i.kind) for i in items] == [
        (f"ev-{e.seq}", "http://cb/dr", "native", "dr") for e in history
    ]
    notice = items[1].subject()
    assert notice.event is not None and notice.event.status is Status.DELIVERED
    assert notice.message is not None and notice.message.status is Status.DELIVERED
    assert claimed.id == m.id


async def test_message_callback_url_wins_and_no_url_no_callback(store: Store) -> None:
    a = await make_account(store)
    m1, m2 = await accepted(store, a.id, message(a.id, callback_url="http://own/cb"), message(a.id))
    await store.record_reports(
        [Report(message_id=m.id, status=Status.REJECTED, at=time.time()) for m in (m1, m2)],
        route,
    )
    assert [i.url for i in await store.outbox_items(a.id)] == ["http://own/cb"]


async def test_several_reports_for_one_message_in_one_call(store: Store) -> None:
    a = await make_account(store)
    [m] = await accepted(store, a.id, message(a.id))
    await store.claim_due(time.time(), 1, "t", 60.0)
    t = time.time()
    events = await store.record_reports(
        [
            Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c", at=t),
            Report(message_id=m.id, status=Status.UNDELIVERED, error_code="absent", at=t + 1),
        ],
        route,
    )
    assert [e.status for e in events] == [Status.SUBMITTED, Status.UNDELIVERED]
    assert events[0].seq < events[1].seq
    final = await store.get_message(a.id, m.id)
    assert final is not None and final.status is Status.UNDELIVERED
    assert final.error_code == "absent" and final.submitted_at == t and final.carrier_id == "c"
    assert final.done_at == t + 1 and final.updated_at == t + 1
    assert await store.claimed_by_others(t + 1000, "x") == []  # the claim is gone


@pytest.mark.parametrize("status", [Status.REJECTED, Status.EXPIRED, Status.CANCELLED])
async def test_refund_when_never_sent(store: Store, status: Status) -> None:
    a = await make_account(store, balance=10_000_000)
    [m] = await accepted(store, a.id, message(a.id))
    assert await balance(store, a.id) == 9_500_000
    await store.record_reports([Report(message_id=m.id, status=status, at=time.time())], route)
    assert await balance(store, a.id) == 10_000_000


async def test_no_refund_once_sent(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    [m] = await accepted(store, a.id, message(a.id))
    await store.claim_due(time.time(), 1, "t", 60.0)
    for status in (Status.SUBMITTED, Status.EXPIRED):
        await store.record_reports([Report(message_id=m.id, status=status, at=time.time())], route)
    assert await balance(store, a.id) == 9_500_000


async def test_confidential_text_is_blanked_once_sent(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    [m] = await accepted(store, a.id, message(a.id, confidential=True, text="code 1234"))
    assert (await store.get_message(a.id, m.id)).text == "code 1234"  # type: ignore[union-attr]
    await store.claim_due(time.time(), 1, "t", 60.0)
    await store.record_reports(
        [Report(message_id=m.id, status=Status.SUBMITTED, at=time.time())], route
    )
    assert (await store.get_message(a.id, m.id)).text == ""  # type: ignore[union-attr]
    [item] = await store.outbox_items(a.id)
    notice = item.subject()
    assert notice.message is not None and notice.message.text == ""


async def test_cancel(store: Store) -> None:
    a = await make_account(store, balance=10_000_000, callback_urls={"native": "http://cb"})
    m1, m2 = await accepted(store, a.id, message(a.id), message(a.id, priority=1))
    cancelled = await store.cancel(a.id, m1.id, route)
    assert cancelled.status is Status.CANCELLED and cancelled.done_at is not None
    assert await balance(store, a.id) == 9_500_000
    assert [e.status for e in await store.events_of(a.id, m1.id)] == [Status.CANCELLED]
    assert len(await store.outbox_items(a.id)) == 1
    for message_id, code in ((m1.id, ErrorCode.NOT_CANCELLABLE), ("nope", ErrorCode.NOT_FOUND)):
        with pytest.raises(GatewayError) as err:
            await store.cancel(a.id, message_id, route)
        assert err.value.code is code
    with pytest.raises(GatewayError) as err:
        await store.cancel(a.id + 1, m2.id, route)
    assert err.value.code is ErrorCode.NOT_FOUND
    # Claimed by a dispatcher: it may be at the carrier already.
    await store.claim_due(time.time(), 1, "t", 60.0)
    with pytest.raises(GatewayError) as err:
        await store.cancel(a.id, m2.id, route)
    assert err.value.code is ErrorCode.NOT_CANCELLABLE


async def test_counts(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    later = message(a.id, not_before=time.time() + 60)
    m1, _m2, _m3, _m4 = await accepted(
        store, a.id, message(a.id), message(a.id), later, message(a.id)
    )
    await store.claim_due(time.time(), 2, "t", 60.0)
    await store.record_reports(
        [Report(message_id=m1.id, status=Status.SUBMITTED, at=time.time())], route
    )
    # waiting work only (what indexes count cheaply): submitted messages are not "queue depth";
    # queued counts the claimed one not yet sent (m2) and the unclaimed one (m4)
    assert await store.counts() == {"scheduled": 1, "queued": 2, "outbox": 1}


async def test_engine_lock(store: Store, other: Store) -> None:
    """SQLite has one engine per database file; PostgreSQL takes one on every node."""
    from smsgate.store.base import StoreUnavailable

    await store.lock_engine()
    if store.exclusive_dispatch:
        with pytest.raises(StoreUnavailable):
            await other.lock_engine()
    else:
        await other.lock_engine()


async def test_ping(store: Store) -> None:
    await store.ping()  # answers without error on a live database


async def test_reports_start_from_the_row_not_from_what_this_store_saw(
    store: Store, other: Store
) -> None:
    """A store may remember a claimed message's state; a report must still be applied to the
    row as it is now. Here another process ended the message meanwhile: a late SUBMITTED is an
    illegal move from its final status, and is refused."""
    a = await make_account(store, callback_urls={"native": "http://cb/dr"})
    [m] = await accepted(store, a.id, message(a.id))
    assert [c.id for c in await store.claim_due(time.time(), 1, "t", 60.0)] == [m.id]
    t = time.time()
    ended = [
        Report(message_id=m.id, status=Status.SUBMITTED, at=t),
        Report(message_id=m.id, status=Status.UNDELIVERED, error_code="absent", at=t + 1),
    ]
    assert len(await other.record_reports(ended, route)) == 2
    late = Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c-9", at=t + 2)
    assert await store.record_reports([late], route) == []
    final = await store.get_message(a.id, m.id)
    assert final is not None and final.status is Status.UNDELIVERED
    assert final.carrier_id is None and final.error_code == "absent"
    assert [e.status for e in await store.events_of(a.id, m.id)] == [
        Status.SUBMITTED,
        Status.UNDELIVERED,
    ]
    # and a report that follows the row's real state is applied as usual
    [n] = await accepted(store, a.id, message(a.id, phone="79652222222"))
    await store.claim_due(time.time(), 1, "t", 60.0)
    await other.record_reports([Report(message_id=n.id, status=Status.SUBMITTED, at=t)], route)
    done = Report(message_id=n.id, status=Status.DELIVERED, at=t + 1)
    assert [e.status for e in await store.record_reports([done], route)] == [Status.DELIVERED]
    delivered = await store.get_message(a.id, n.id)
    assert delivered is not None and delivered.status is Status.DELIVERED
