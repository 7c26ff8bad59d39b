"""Store contract: where a message's callbacks stand, and the backlog per dialect (both backends)."""

from __future__ import annotations

import time

from smsgate.core.models import Message, MoMessage, Report, StatusEvent
from smsgate.core.status import Status
from smsgate.store.base import CallbackState, Store
from tests.store.helpers import make_account, message


def route(
    message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
) -> list[tuple[str, str]]:
    """Every event to each of the account's dialect URLs: two callbacks per event here."""
    return sorted(urls.items())


async def test_callbacks_of_a_message_with_their_last_errors(store: Store) -> None:
    urls = {"native": "http://cb/native", "msghub": "http://cb/msghub"}
    a = await make_account(store, callback_urls=urls)
    b = await make_account(store, "b", callback_urls=urls)
    mine, other = message(a.id), message(b.id)
    await store.accept(a.id, [mine])
    await store.accept(b.id, [other])
    now = time.time()
    assert len(await store.claim_due(now, 10, "t", 60.0)) == 2
    await store.record_reports(
        [
            Report(message_id=mine.id, status=Status.SUBMITTED, carrier_id="c1", at=now),
            Report(message_id=other.id, status=Status.SUBMITTED, carrier_id="c2", at=now),
        ],
        route,
    )
    await store.record_reports(
        [Report(message_id=mine.id, status=Status.UNDELIVERED, carrier_error="0x0b", at=now)],
        route,
    )
    [submitted, undelivered] = [e.seq for e in await store.events_of(a.id, mine.id)]
    rows = {(i.event_id, i.dialect): i.id for i in await store.outbox_items(a.id)}
    await store.outbox_retry([rows[f"ev-{submitted}", "native"]], now + 60, "HTTP 503")
    await store.outbox_done([rows[f"ev-{submitted}", "msghub"]], now)
    await store.outbox_dead([rows[f"ev-{undelivered}", "native"]], "TimeoutError: timed out")

    states = await store.callbacks_of(a.id, mine.id)
    assert sorted(states, key=lambda s: (s.event_id, s.dialect)) == sorted(
        [
            CallbackState(
                event_id=f"ev-{submitted}",
                dialect="native",
                state="pending",
                attempts=1,
                last_error="HTTP 503",
            ),
            CallbackState(event_id=f"ev-{submitted}", dialect="msghub", state="done", attempts=1),
            CallbackState(
                event_id=f"ev-{undelivered}",
                dialect="native",
                state="dead",
                attempts=1,
                last_error="TimeoutError: timed out",
            ),
            CallbackState(
                event_id=f"ev-{undelivered}", dialect="msghub", state="pending", attempts=0
            ),
        ],
        key=lambda s: (s.event_id, s.dialect),
    )
    assert [s.event_id for s in states] == sorted(
        [s.event_id for s in states], key=lambda e: int(e[3:])
    )  # in the order of the events
    assert await store.callbacks_of(b.id, mine.id) == []  # another account's message: nothing
    assert len(await store.callbacks_of(b.id, other.id)) == 2
    assert await store.callbacks_of(a.id, "no-such-message") == []


async def test_outbox_backlog_per_dialect(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb", "msghub": "http://m"})
    assert await store.outbox_backlog() == {}
    batch = [message(a.id, phone=f"7965000{i:04d}") for i in range(3)]
    await store.accept(a.id, batch)
    now = time.time()
    await store.record_reports(
        [Report(message_id=m.id, status=Status.REJECTED, at=now) for m in batch], route
    )
    assert await store.outbox_backlog() == {"native": 3, "msghub": 3}
    items = await store.outbox_items(a.id)
    await store.outbox_done([i.id for i in items if i.dialect == "msghub"], now)
    await store.outbox_dead([next(i.id for i in items if i.dialect == "native")], "HTTP 410")
    assert await store.outbox_backlog() == {"native": 2}
