"""Store contract: a callback's payload is rendered when it is claimed, from its event and its
message as of that event (or its incoming SMS), and the outbox row stores none."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
import pytest

from smsgate.core.models import Report, StatusEvent
from smsgate.core.status import Status
from smsgate.store import rules
from smsgate.store.base import Store
from tests.store.helpers import make_account, message, route


async def _raw(url: str, sql: str, *args: Any) -> list[Sequence[Any]]:
    """`sql` on the store's database, beside the store (`?` for SQLite, `$n` for PostgreSQL)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()
    pg = await asyncpg.connect(url)
    try:
        return list(await pg.fetch(sql, *args))
    finally:
        await pg.close()


async def test_each_callback_reports_its_message_as_of_its_event(
    store: Store, database_url: str
) -> None:
    """A submitted callback claimed after the message was delivered still reports it submitted
    (no done time), the delivered one reports it delivered; a confidential text never leaves;
    the rows store no payload."""
    a = await make_account(store, callback_urls={"native": "http://cb"})
    m = message(a.id, confidential=True, text="code 1234")
    await store.accept(a.id, [m])
    assert [c.id for c in await store.claim_due(time.time(), 10, "d-1", 30.0)] == [m.id]
    t1, t2 = time.time(), time.time() + 2
    sent = Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c-1", at=t1)
    await store.record_reports([sent], route)
    failed = Report(
        message_id=m.id, status=Status.UNDELIVERED, error_code="E1", carrier_error="12", at=t2
    )
    await store.record_reports([failed], route)
    items = await store.outbox_claim(t2 + 1, 10, 30.0)
    first, second = (i.subject() for i in items)
    assert first.event is not None and first.message is not None
    assert (first.event.status, first.event.at, first.event.seq) == (Status.SUBMITTED, t1, 1)
    assert first.event_id == items[0].event_id == "ev-1"
    assert (first.message.status, first.message.error_code) == (Status.SUBMITTED, None)
    assert (first.message.submitted_at, first.message.done_at) == (t1, None)
    assert (first.message.updated_at, first.message.carrier_id) == (t1, "c-1")
    assert second.event is not None and second.message is not None
    assert (second.event.carrier_error, second.event.error_code) == ("12", "E1")
    assert (second.message.status, second.message.error_code) == (Status.UNDELIVERED, "E1")
    assert (second.message.submitted_at, second.message.done_at) == (t1, t2)
    for notice in (first, second):
        assert notice.message is not None
        assert notice.message.text == "" and notice.message.phone == m.phone
        assert (notice.message.id, notice.message.price) == (m.id, m.price)
    assert [len(bytes(r[0])) for r in await _raw(database_url, "SELECT payload FROM outbox")] == [
        0,
        0,
    ]


async def test_a_payload_stored_with_its_row_is_sent_as_stored(
    store: Store, database_url: str
) -> None:
    """Rows written by a version that stored payloads keep theirs."""
    a = await make_account(store, callback_urls={"native": "http://cb"})
    m = message(a.id)
    await store.accept(a.id, [m])
    await store.record_reports([Report(message_id=m.id, status=Status.REJECTED, at=1.0)], route)
    stored = b'{"kind":"dr","event_id":"ev-1"}'
    sql = "UPDATE outbox SET payload = " + ("?" if database_url.startswith("sqlite") else "$1")
    await _raw(database_url, sql, stored)
    [item] = await store.outbox_claim(time.time(), 10, 30.0)
    assert item.payload == stored
    assert [i.payload for i in await store.outbox_items(a.id)] == [stored]


async def test_a_callback_whose_message_is_gone_has_no_payload(
    store: Store, database_url: str
) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    m = message(a.id)
    await store.accept(a.id, [m])
    await store.record_reports([Report(message_id=m.id, status=Status.REJECTED, at=1.0)], route)
    await _raw(database_url, "DELETE FROM events")
    [item] = await store.outbox_claim(time.time(), 10, 30.0)
    assert (item.event_id, item.payload) == ("ev-1", b"")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_an_idle_claim_takes_no_row_lock(store: Store, database_url: str) -> None:
    """Nothing due: the claim only reads (no transaction, no FOR UPDATE), so it answers while
    another session holds the outbox in EXCLUSIVE mode, which blocks row locks."""
    await make_account(store, callback_urls={"native": "http://cb"})
    pg = await asyncpg.connect(database_url)
    try:
        async with pg.transaction():
            await pg.execute("LOCK TABLE outbox IN EXCLUSIVE MODE")
            assert await asyncio.wait_for(store.outbox_claim(time.time(), 10, 30.0), 3) == []
    finally:
        await pg.close()


def test_as_of_undoes_the_later_moves_only() -> None:
    """rules.as_of, from a delivered row: each event's own status, error and times; what was
    learnt later (the carrier id) stays; a confidential text never shows."""
    now = msgspec.structs.replace(
        message(1, confidential=True, text="code 1234"),
        status=Status.DELIVERED,
        carrier_id="c-1",
        submitted_at=10.0,
        done_at=20.0,
        updated_at=20.0,
    )

    def event(status: Status, at: float, error: str | None = None) -> StatusEvent:
        return StatusEvent(
            message_id=now.id, account_id=1, status=status, error_code=error, at=at, seq=1
        )

    sent = rules.as_of(now, event(Status.SUBMITTED, 10.0))
    assert (sent.status, sent.submitted_at, sent.done_at, sent.updated_at) == (
        Status.SUBMITTED,
        10.0,
        None,
        10.0,
    )
    assert (sent.carrier_id, sent.text, sent.phone) == ("c-1", "", now.phone)
    queued = rules.as_of(now, event(Status.QUEUED, 5.0))
    assert (queued.status, queued.submitted_at, queued.done_at) == (Status.QUEUED, None, None)
    late = rules.as_of(now, event(Status.UNDELIVERED, 30.0, "E1"))
    assert (late.status, late.error_code, late.submitted_at, late.done_at) == (
        Status.UNDELIVERED,
        "E1",
        10.0,
        30.0,
    )
    assert rules.as_of(now, event(Status.DELIVERED, 20.0)) == msgspec.structs.replace(now, text="")


def test_as_of_its_latest_event_is_the_message_itself() -> None:
    """A message's latest event (its final callback's, mostly) leaves it as it stands: the row
    read is what the callback reports, with no copy made of it."""
    row = msgspec.structs.replace(
        message(1), status=Status.DELIVERED, submitted_at=10.0, done_at=20.0, updated_at=20.0
    )
    latest = StatusEvent(message_id=row.id, account_id=1, status=Status.DELIVERED, at=20.0)
    assert rules.as_of(row, latest) is row
    earlier = StatusEvent(message_id=row.id, account_id=1, status=Status.SUBMITTED, at=10.0)
    assert rules.as_of(row, earlier) is not row
