"""Store contract: incoming SMS, the notifier's outbox, the connector log, wake-ups, faults."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from smsgate.core.ids import new_id
from smsgate.core.models import MoMessage, Report
from smsgate.core.status import Status
from smsgate.store import open_store
from smsgate.store.base import ConnectorEntry, OutboxScope, Store, StoreUnavailable
from tests.store.helpers import make_account, message, route


async def outbox_rows(store: Store, account_id: int, n: int) -> list[int]:
    """`n` delivered messages' worth of callbacks (one each); their outbox ids."""
    batch = [message(account_id, phone=f"7965000{i:04d}") for i in range(n)]
    await store.accept(account_id, batch)
    await store.record_reports(
        [Report(message_id=m.id, status=Status.REJECTED, at=time.time()) for m in batch], route
    )
    return [i.id for i in await store.outbox_items(account_id)]


async def test_incoming_messages(store: Store) -> None:
    a = await make_account(store, callback_urls={"native.mo": "http://cb/mo"})
    b = await make_account(store, "b")
    t = time.time()
    mos = [
        MoMessage(
            id=new_id(),
            account_id=a.id,
            phone="79650000001",
            to="ACME",
            text="hi",
            received_at=t,
            reply_to="m-1",
            meta={"k": "v"},
        ),
        MoMessage(
            id=new_id(), account_id=b.id, phone="79650000002", to="B", text="yo", received_at=t
        ),
        MoMessage(
            id=new_id(),
            account_id=a.id,
            phone="79650000003",
            to="ACME",
            text="2",
            received_at=t + 1,
        ),
    ]
    await store.store_mo(mos, route)
    listed = await store.list_mo(a.id)
    assert [m.id for m in listed] == [mos[0].id, mos[2].id]
    assert listed[0] == msgspec.structs.replace(mos[0], seq=listed[0].seq)
    assert [m.id for m in await store.list_mo(a.id, after_seq=listed[0].seq)] == [mos[2].id]
    assert [m.id for m in await store.list_mo(a.id, limit=1)] == [mos[0].id]
    items = await store.outbox_items()
    assert [(i.event_id, i.kind, i.url, i.account_id) for i in items] == [
        (f"mo-{mos[0].id}", "mo", "http://cb/mo", a.id),
        (f"mo-{mos[2].id}", "mo", "http://cb/mo", a.id),
    ]
    notice = items[0].subject()
    assert notice.mo is not None and notice.mo.text == "hi"


async def test_outbox_claim_lease_and_outcomes(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    ids = await outbox_rows(store, a.id, 5)
    now = time.time()
    first = await store.outbox_claim(now, 3, 30.0)
    assert [i.id for i in first] == ids[:3] and all(i.attempts == 0 for i in first)
    assert [i.id for i in await store.outbox_claim(now, 10, 30.0)] == ids[3:]
    assert await store.outbox_claim(now + 10, 10, 30.0) == []  # all leased
    await store.outbox_done([ids[0]], now)
    await store.outbox_retry([ids[1]], now + 100, "HTTP 500")
    await store.outbox_defer([ids[2]], now + 5)
    await store.outbox_dead([ids[3]], "HTTP 410")
    assert [i.id for i in await store.outbox_claim(now + 6, 10, 1000.0)] == [ids[2]]
    # The lease of ids[4] lapsed: another node may take it (at least once).
    assert [i.id for i in await store.outbox_claim(now + 31, 10, 1000.0)] == [ids[4]]
    retried = await store.outbox_claim(now + 101, 10, 1000.0)
    assert [(i.id, i.attempts) for i in retried] == [(ids[1], 1)]
    assert [i.id for i in await store.outbox_items(a.id, "done")] == [ids[0]]
    assert [i.id for i in await store.outbox_items(state="dead")] == [ids[3]]
    assert [i.id for i in await store.outbox_items(a.id + 1)] == []
    assert (await store.counts())["outbox"] == 3


async def test_concurrent_outbox_claims_are_disjoint(store: Store, other: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    ids = await outbox_rows(store, a.id, 40)
    now = time.time()
    claims = await asyncio.gather(
        *((store if i % 2 else other).outbox_claim(now, 7, 30.0) for i in range(8))
    )
    claimed = [item.id for claim in claims for item in claim]
    assert sorted(claimed) == sorted(ids)  # each exactly once


async def test_outbox_scopes_split_the_dialects_between_notifiers(store: Store) -> None:
    """The engine's notifier takes the SMPP binds' callbacks, the notifier process the rest:
    neither claims nor unleases the other's rows."""
    urls = {"native": "http://cb/native", "smpp": "smpp://bind", "smsc": "http://cb/smsc"}
    a = await make_account(store, callback_urls=urls)
    batch = [
        message(a.id, phone=f"7965000{i:04d}", dialect=dialect)
        for i, dialect in enumerate(["native", "smpp", "smsc", "smpp"])
    ]
    await store.accept(a.id, batch)
    await store.record_reports(
        [Report(message_id=m.id, status=Status.REJECTED, at=time.time()) for m in batch], route
    )
    by_dialect = {i.dialect: i.id for i in await store.outbox_items(a.id)}
    engine = OutboxScope(only=frozenset({"smpp"}))
    notifier = OutboxScope(skip=frozenset({"smpp"}))
    assert not engine.covers("native") and notifier.covers("native") and engine.covers("smpp")
    now = time.time()
    mine = await store.outbox_claim(now, 10, 30.0, notifier)
    assert sorted((i.dialect, i.url) for i in mine) == [
        ("native", "http://cb/native"),
        ("smsc", "http://cb/smsc"),
    ]
    theirs = await store.outbox_claim(now, 10, 30.0, engine)
    assert [i.url for i in theirs] == ["smpp://bind", "smpp://bind"]
    # A restarted notifier process frees its own leases only: the engine's stay taken.
    assert await store.outbox_unlease(notifier) == 2
    again = await store.outbox_claim(now + 1, 10, 30.0)
    assert sorted(i.id for i in again) == sorted([by_dialect["native"], by_dialect["smsc"]])
    assert (
        await store.outbox_unlease(OutboxScope(only=frozenset({"smpp"}), skip=frozenset({"smpp"})))
        == 0
    )


async def test_connector_log(store: Store) -> None:
    t = time.time()
    entries = [
        ConnectorEntry(
            message_id="m1", carrier_id="c1", submitted_at=t, outcome="delivered", report_due=t + 2
        ),
        ConnectorEntry(
            message_id="m2",
            carrier_id="c2",
            submitted_at=t,
            outcome="undelivered:x",
            report_due=t + 1,
        ),
        ConnectorEntry(message_id="m3", carrier_id="c3", submitted_at=t),
    ]
    await store.connector_log_add("sim", entries)
    await store.connector_log_add(
        "other", [ConnectorEntry(message_id="m1", carrier_id="z", submitted_at=t)]
    )
    assert await store.connector_log_find("sim", ["m2", "m1", "m9"]) == entries[:2]
    pending = await store.connector_log_pending("sim")
    assert [e.message_id for e in pending if e.report_due] == ["m2", "m1"]  # by report_due
    assert {e.message_id for e in pending} == {"m1", "m2", "m3"}
    await store.connector_log_reported("sim", ["m2", "m3"])
    assert [e.message_id for e in await store.connector_log_pending("sim")] == ["m1"]
    assert [e.carrier_id for e in await store.connector_log_pending("other")] == ["z"]


async def test_wait_for_work(store: Store) -> None:
    wakeup = asyncio.Event()
    await store.wait_for_work(wakeup, 0.01)  # a store that can may start listening now
    wakeup.set()
    started = time.monotonic()
    await store.wait_for_work(wakeup, 5.0)  # woken in this process
    assert time.monotonic() - started < 1.0
    wakeup.clear()
    started = time.monotonic()
    await store.wait_for_work(wakeup, 0.2)  # nothing: times out (or wakes spuriously)
    assert time.monotonic() - started < 1.0


async def test_unreachable_database_is_unavailable(backend: str, tmp_path: object) -> None:
    url = (
        "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2"
        if backend == "postgres"
        else "sqlite:////proc/no/such/dir/x.db"
    )
    store = open_store(url)
    with pytest.raises((StoreUnavailable, OSError)):
        await store.open()
    await store.close()


async def test_purge_forgets_only_what_is_settled_and_old(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "http://cb"})
    done, dead, pending = await outbox_rows(store, a.id, 3)
    now = time.time()
    await store.outbox_done([done], now - 10 * 86400)
    await store.outbox_dead([dead], "given up")
    await store.connector_log_add(
        "sim",
        [
            ConnectorEntry(message_id="old", carrier_id="c1", submitted_at=now - 10 * 86400),
            ConnectorEntry(message_id="open", carrier_id="c2", submitted_at=now - 10 * 86400),
            ConnectorEntry(message_id="new", carrier_id="c3", submitted_at=now),
        ],
    )
    await store.connector_log_reported("sim", ["old", "new"])
    # a week ago: the old delivered callback and the old settled log line go; the dead row was
    # given up just now, the pending one is still owed, 'open' still waits for its report
    assert await store.purge(now - 7 * 86400) == 2
    left = {i.id for i in await store.outbox_items(a.id)}
    assert left == {dead, pending}
    assert {
        e.message_id for e in await store.connector_log_find("sim", ["old", "open", "new"])
    } == {
        "open",
        "new",
    }
    assert await store.purge(now + 1) == 2  # now the dead row and the settled 'new' line
    assert {i.id for i in await store.outbox_items(a.id)} == {pending}


async def test_lines_given_with_reports_are_written_with_them(store: Store) -> None:
    """Connector-log lines handed to record_reports are stored with the reports they
    acknowledge (SQLite: in their commit), and found as any line is."""
    a = await make_account(store)
    m = message(a.id)
    await store.accept(a.id, [m])
    assert len(await store.claim_due(time.time(), 10, "t", 60.0)) == 1
    t = time.time()
    line = ConnectorEntry(message_id=m.id, carrier_id="c1", submitted_at=t, report_due=t + 1)
    events = await store.record_reports(
        [Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c1", at=t)],
        route,
        [("sim", line)],
    )
    assert [e.status for e in events] == [Status.SUBMITTED]
    assert await store.connector_log_find("sim", [m.id]) == [line]
    assert await store.connector_log_pending("sim") == [line]
