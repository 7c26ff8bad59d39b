"""A message's callbacks go out in the order of its events, across notifiers: an older status
is never sent after a newer one (docs/native.md, "Callbacks"; rules.order_claim).

`other` is a second store on the same database: another node's notifier (on SQLite, another
process's). A node that dies holding a lease is a store that claimed and never answered.
"""

from __future__ import annotations

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store import rules
from smsgate.store.base import OutboxItem, Store
from smsgate.store.rules import Sibling, order_claim
from tests.store.helpers import make_account, message, route

LEASE = 60.0


async def _report(store: Store, message_id: str, status: Status, at: float) -> None:
    await store.record_reports([Report(message_id=message_id, status=status, at=at)], route)


def _statuses(items: list[OutboxItem]) -> list[str]:
    out = []
    for item in items:
        event = item.subject().event
        assert event is not None
        out.append(event.status.value)
    return out


async def _sent_message(store: Store) -> str:
    a = await make_account(store, callback_urls={"native": "http://cb/dr"})
    m = message(a.id, status=Status.QUEUED)  # handed to the dispatcher: it may be submitted
    await store.accept(a.id, [m])
    return m.id


async def test_delivered_waits_for_a_submitted_leased_by_a_dead_node(
    store: Store, other: Store
) -> None:
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    dead = await other.outbox_claim(now, 10, LEASE)  # claimed, and its node died
    assert _statuses(dead) == ["submitted"]
    await _report(store, m, Status.DELIVERED, now + 1)
    # The live node finds "delivered" due, and holds it while "submitted" is someone's.
    for t in (now + 2, now + 10, now + LEASE - 1):
        assert await store.outbox_claim(t, 10, LEASE) == [], t
    # The dead node's lease lapses: both, in their order.
    both = await store.outbox_claim(now + LEASE + 1, 10, LEASE)
    assert _statuses(both) == ["submitted", "delivered"]


async def test_a_live_node_answers_and_the_other_sends_the_next_soon(
    store: Store, other: Store
) -> None:
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    [submitted] = await other.outbox_claim(now, 10, LEASE)
    await _report(store, m, Status.DELIVERED, now + 0.1)
    assert await store.outbox_claim(now + 0.2, 10, LEASE) == []  # held, a moment only
    await other.outbox_done([submitted.id], now + 0.3)
    assert await store.outbox_claim(now + 0.3, 10, LEASE) == []  # not due again yet
    later = await store.outbox_claim(now + 0.2 + rules.HOLD, 10, LEASE)
    assert _statuses(later) == ["delivered"]


async def test_its_own_lease_does_not_hold_a_notifier_back(store: Store) -> None:
    """This notifier has "submitted" in flight: it keeps its own requests in order (the
    notifier's _Turn), so "delivered" is handed to it at once."""
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    assert _statuses(await store.outbox_claim(now, 10, LEASE)) == ["submitted"]
    await _report(store, m, Status.DELIVERED, now + 0.1)
    assert _statuses(await store.outbox_claim(now + 0.2, 10, LEASE)) == ["delivered"]


async def test_a_failed_submitted_holds_delivered_back_until_its_retry(store: Store) -> None:
    """Another notifier (or a restarted one) finds "delivered" due while "submitted" waits for
    its retry: it waits too, and they go out together then, in order."""
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    [submitted] = await store.outbox_claim(now, 10, LEASE)
    await store.outbox_retry([submitted.id], now + 100, "HTTP 500")  # tried again later
    await _report(store, m, Status.DELIVERED, now + 1)
    assert await store.outbox_claim(now + 2, 10, LEASE) == []  # held until then
    assert await store.outbox_claim(now + 99, 10, LEASE) == []
    both = await store.outbox_claim(now + 100, 10, LEASE)
    assert _statuses(both) == ["submitted", "delivered"]
    assert [i.attempts for i in both] == [1, 0]  # holding back counts no attempt


async def test_a_given_up_submitted_holds_nothing_back(store: Store) -> None:
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    [submitted] = await store.outbox_claim(now, 10, LEASE)
    await store.outbox_dead([submitted.id], "HTTP 410")
    await _report(store, m, Status.DELIVERED, now + 1)
    assert _statuses(await store.outbox_claim(now + 2, 10, LEASE)) == ["delivered"]


async def test_a_lost_done_mark_sends_the_older_status_again(store: Store, other: Store) -> None:
    """A notifier had both answered, and the database went away while it marked "submitted"
    done, not while it marked "delivered": "submitted" goes out again once its lease lapses
    (at least once: a callback whose answer is not known is never given up as done)."""
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    await _report(store, m, Status.DELIVERED, now + 0.1)
    submitted, delivered = await other.outbox_claim(now + 1, 10, LEASE)
    await other.outbox_done([delivered.id], now + 2)  # "submitted"'s mark never came
    again = await store.outbox_claim(now + LEASE + 2, 10, LEASE)
    assert [i.id for i in again] == [submitted.id]


async def test_claimed_together_they_come_in_the_order_of_the_events(store: Store) -> None:
    """A retried "submitted" is due later than a "delivered" never tried: the claim hands them
    over in their events' order, not their due times'."""
    now = 1_000_000.0
    m = await _sent_message(store)
    await _report(store, m, Status.SUBMITTED, now)
    [submitted] = await store.outbox_claim(now, 10, LEASE)
    await store.outbox_retry([submitted.id], now + 5, "timeout")
    await _report(store, m, Status.DELIVERED, now + 1)  # due at now + 1, before the retry
    both = await store.outbox_claim(now + 6, 10, LEASE)
    assert _statuses(both) == ["submitted", "delivered"]


# The rule alone --------------------------------------------------------------------------------


def _sibling(id: int, **fields: object) -> Sibling:
    values: dict[str, object] = {
        "id": id,
        "message_id": "m",
        "state": "pending",
        "next_at": 0.0,
        "lease_until": None,
        "lease_owner": None,
    }
    values.update(fields)
    return Sibling(**values)  # type: ignore[arg-type]


def test_rule_an_incoming_sms_is_always_sent() -> None:
    assert order_claim([7], [], 10.0, "me") == ([7], [])


def test_rule_earlier_due_elsewhere_holds_briefly() -> None:
    siblings = [_sibling(1), _sibling(2)]  # 1 due but not claimed here: being claimed now
    assert order_claim([2], siblings, 10.0, "me") == ([], [(2, 10.0 + rules.HOLD)])


def test_rule_earlier_leased_by_another_holds_until_its_lease_or_a_look_again() -> None:
    siblings = [_sibling(1, lease_until=10.2, lease_owner="dead"), _sibling(2)]
    assert order_claim([2], siblings, 10.0, "me").hold == [(2, 10.2)]
    siblings = [_sibling(1, lease_until=99.0, lease_owner=None), _sibling(2)]
    assert order_claim([2], siblings, 10.0, "me").hold == [(2, 10.0 + rules.HOLD)]


def test_rule_earlier_held_back_for_a_batch_goes_first() -> None:
    siblings = [_sibling(1, next_at=12.0), _sibling(2), _sibling(3)]
    assert order_claim([2, 3], siblings, 10.0, "me") == ([], [(2, 12.0), (3, 12.0)])


def test_rule_earlier_waiting_for_a_retry_goes_first() -> None:
    siblings = [_sibling(1, next_at=50.0), _sibling(2)]
    assert order_claim([2], siblings, 10.0, "me") == ([], [(2, 50.0)])


def test_rule_earlier_done_or_given_up_holds_nothing() -> None:
    for state in ("done", "dead"):
        siblings = [_sibling(1, state=state, next_at=50.0, lease_until=60.0), _sibling(2)]
        assert order_claim([2], siblings, 10.0, "me") == ([2], [])


def test_rule_earlier_in_this_notifiers_hands_holds_nothing() -> None:
    siblings = [_sibling(1, lease_until=20.0, lease_owner="me"), _sibling(2)]
    assert order_claim([2], siblings, 10.0, "me") == ([2], [])


def test_rule_claimed_together_in_id_order_and_held_together() -> None:
    siblings = [_sibling(1), _sibling(2), _sibling(5, message_id="n"), _sibling(3)]
    assert order_claim([5, 3, 2, 1], siblings, 10.0, "me").send == [1, 2, 3, 5]
    blocked = [_sibling(1, lease_until=11.0, lease_owner="x"), _sibling(2), _sibling(3)]
    until = min(11.0, 10.0 + rules.HOLD)
    assert order_claim([3, 2], blocked, 10.0, "me").hold == [(2, until), (3, until)]


def test_rule_a_later_one_done_does_not_settle_an_earlier_one() -> None:
    """Its answer is not known (a lost done mark, or a crash before its retry mark): sent."""
    siblings = [_sibling(1, lease_until=5.0, lease_owner="x"), _sibling(2, state="done")]
    assert order_claim([1], siblings, 10.0, "me") == ([1], [])
