"""Store contract: the operator console's reads (search, timeline, figures), on both backends."""

from __future__ import annotations

import time

from smsgate.core.models import Job, Message, MoMessage, Report, StatusEvent
from smsgate.core.status import Status
from smsgate.store.base import CallbackHealth, ConsoleFilter, Store
from tests.store.helpers import make_account, message


def to_native(
    message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
) -> list[tuple[str, str]]:
    return [("native", urls["native"])] if "native" in urls else []


async def seed(store: Store) -> tuple[int, int, list[Message]]:
    """Two accounts, six messages an hour apart (oldest first), two phones, two dialects."""
    a = await make_account(store, "acme")
    b = await make_account(store, "beta")
    start = time.time() - 6 * 3600
    stored = []
    for i in range(6):
        owner = a.id if i % 2 == 0 else b.id
        at = start + i * 3600
        m = message(
            owner,
            phone="79650000001" if i < 3 else "79650000002",
            dialect="native" if i != 4 else "smsc",
            client_ref=f"ref-{i}",
            created_at=at,
            updated_at=at,
        )
        [outcome] = await store.accept(owner, [m])
        assert outcome.message is not None
        stored.append(outcome.message)
    return a.id, b.id, stored


async def ids(store: Store, flt: ConsoleFilter, **kw: int) -> list[str]:
    return [m.id for m in await store.console_messages(flt, **kw)]


async def test_search_filters_alone_and_combined_newest_first(store: Store) -> None:
    a, b, m = await seed(store)
    every = [x.id for x in reversed(m)]
    assert await ids(store, ConsoleFilter()) == every
    assert await ids(store, ConsoleFilter(phone="79650000001")) == [m[2].id, m[1].id, m[0].id]
    assert await ids(store, ConsoleFilter(account_id=a)) == [m[4].id, m[2].id, m[0].id]
    assert await ids(store, ConsoleFilter(account_id=b, phone="79650000002")) == [
        m[5].id,
        m[3].id,
    ]
    assert await ids(store, ConsoleFilter(dialect="smsc")) == [m[4].id]
    assert await ids(store, ConsoleFilter(dialect="smsc", account_id=b)) == []
    assert await ids(store, ConsoleFilter(client_ref="ref-3")) == [m[3].id]
    assert await ids(store, ConsoleFilter(client_ref="ref-3", account_id=a)) == []
    assert await ids(store, ConsoleFilter(message_id=m[1].id)) == [m[1].id]
    assert await ids(store, ConsoleFilter(message_id=m[1].id, account_id=a)) == []
    assert await ids(store, ConsoleFilter(message_id=m[1].id, status="delivered")) == []
    assert await ids(store, ConsoleFilter(status="accepted", phone="79650000002")) == every[:3]
    assert await ids(store, ConsoleFilter(message_id="no-such-id")) == []


async def test_search_by_time_range_bounds_both_ends(store: Store) -> None:
    _, _, m = await seed(store)
    since, until = m[2].created_at, m[4].created_at
    assert await ids(store, ConsoleFilter(since=since)) == [m[5].id, m[4].id, m[3].id, m[2].id]
    assert await ids(store, ConsoleFilter(since=since, until=until)) == [m[3].id, m[2].id]
    assert await ids(store, ConsoleFilter(until=m[1].created_at)) == [m[0].id]
    assert await ids(store, ConsoleFilter(since=time.time() + 60)) == []
    assert await ids(store, ConsoleFilter(since=0.0, phone="79650000002")) == [
        m[5].id,
        m[4].id,
        m[3].id,
    ]


async def test_keyset_pages_cover_every_message_once(store: Store) -> None:
    _, _, m = await seed(store)
    seen: list[str] = []
    before = None
    while True:
        page = await store.console_messages(ConsoleFilter(), before_seq=before, limit=4)
        if not page:
            break
        seen += [x.id for x in page]
        before = page[-1].seq
    assert seen == [x.id for x in reversed(m)]


async def test_search_by_job_and_its_rejected_recipients(store: Store) -> None:
    a = await make_account(store, "acme")
    job = Job(id="job-1", account_id=a.id, dialect="native", total=3, created_at=time.time())
    batch = [message(a.id, phone=f"7965000000{i}", job_id="job-1") for i in range(3)]
    await store.accept(a.id, batch, job=job)
    await store.accept(a.id, [message(a.id)])  # outside the job
    found = await store.console_job("job-1")
    assert found is not None and found.account_id == a.id and found.total == 3
    assert await store.console_job("job-2") is None
    in_job = await ids(store, ConsoleFilter(job_id="job-1"))
    assert in_job == [x.id for x in reversed(batch)]
    assert await ids(store, ConsoleFilter(job_id="job-1", account_id=a.id)) == in_job
    await store.claim_due(time.time(), 10, "t", 60.0)
    report = Report(message_id=batch[1].id, status=Status.REJECTED, error_code="x", at=time.time())
    await store.record_reports([report], to_native)
    rejected = await store.console_messages(ConsoleFilter(job_id="job-1", status="rejected"))
    assert [(x.id, x.error_code) for x in rejected] == [(batch[1].id, "x")]


async def test_seq_at_finds_the_first_row_of_a_time(store: Store) -> None:
    _, _, m = await seed(store)
    assert await store.console_seq_at("messages", m[3].created_at) == m[3].seq - 1
    assert await store.console_seq_at("messages", m[3].created_at - 1) == m[3].seq - 1
    assert await store.console_seq_at("messages", 0.0) == m[0].seq - 1
    assert await store.console_seq_at("messages", time.time() + 9) == m[5].seq
    assert await store.console_seq_at("events", 0.0) == 0  # no events yet


async def test_timeline_callbacks_with_url_state_and_times(store: Store) -> None:
    a = await make_account(store, callback_urls={"native": "https://u:secret@cb.example/hook"})
    m = message(a.id)
    await store.accept(a.id, [m])
    now = time.time()
    await store.claim_due(now, 10, "t", 60.0)
    submitted = Report(message_id=m.id, status=Status.SUBMITTED, carrier_id="c1", at=now)
    delivered = Report(message_id=m.id, status=Status.DELIVERED, carrier_error="000", at=now + 1)
    await store.record_reports([submitted], to_native)
    await store.record_reports([delivered], to_native)
    rows = {i.event_id: i.id for i in await store.outbox_items(a.id)}
    events = await store.events_of(a.id, m.id)
    first, second = (f"ev-{e.seq}" for e in events[-2:])
    await store.outbox_retry([rows[first]], now + 30, "HTTP 503")
    await store.outbox_done([rows[first]], now + 31)
    await store.outbox_dead([rows[second]], "TimeoutError: timed out")
    records = await store.console_callbacks(m.id)
    assert [(r.event_id, r.state, r.attempts, r.last_error) for r in records] == [
        (first, "done", 2, "HTTP 503"),
        (second, "dead", 1, "TimeoutError: timed out"),
    ]
    assert all(r.url == "https://u:secret@cb.example/hook" and r.kind == "dr" for r in records)
    assert records[0].done_at is not None and records[0].done_at >= records[0].created_at
    assert await store.console_callbacks("another") == []
    health = await store.console_callback_health(now - 60)
    assert health == [CallbackHealth(account_id=a.id, pending=0, retrying=0, done=1, dead=1)]
    assert await store.console_callback_health(time.time() + 60) == []


async def test_traffic_per_bucket_and_status_and_today_per_account(store: Store) -> None:
    a = await make_account(store, "acme")
    b = await make_account(store, "beta")
    mine = [message(a.id) for _ in range(3)]
    await store.accept(a.id, mine)
    await store.accept(b.id, [message(b.id)])
    await store.claim_due(time.time(), 10, "t", 60.0)
    # Event times grow with their seq (bisecting relies on it): a report now, then later ones.
    now = time.time()
    stamps = [(m, Status.SUBMITTED, now) for m in mine]
    stamps += [(mine[0], Status.DELIVERED, now + 0.5), (mine[1], Status.DELIVERED, now + 0.5)]
    stamps.append((mine[2], Status.UNDELIVERED, now + 61))
    for m, status, at in stamps:
        await store.record_reports([Report(message_id=m.id, status=status, at=at)], to_native)
    expected: dict[tuple[int, str], int] = {}
    for _, status, at in stamps:
        key = (int(at) // 60 * 60, status.value)
        expected[key] = expected.get(key, 0) + 1
    last = await store.console_seq_at("events", now + 3600)
    start = await store.console_seq_at("events", now)
    assert await store.console_traffic(start, last, 60) == expected
    later = await store.console_seq_at("events", now + 60)
    assert await store.console_traffic(later, last, 60) == {
        (int(now + 61) // 60 * 60, "undelivered"): 1
    }
    assert await store.console_traffic(last, last, 60) == {}
    assert await store.console_account_traffic(a.id, 0) == {"delivered": 2, "undelivered": 1}
    assert await store.console_account_traffic(b.id, 0) == {"queued": 1}  # claimed
    assert await store.console_account_traffic(a.id, mine[2].seq) == {}


async def test_incoming_newest_first_of_one_account_or_all(store: Store) -> None:
    a = await make_account(store, "acme")
    b = await make_account(store, "beta")
    now = time.time()
    mos = [
        MoMessage(
            id=f"mo-{i}",
            account_id=(a, b)[i % 2].id,
            phone="7965",
            to="1",
            text=str(i),
            received_at=now,
        )
        for i in range(3)
    ]
    await store.store_mo(mos, to_native)
    assert [x.id for x in await store.console_mo()] == ["mo-2", "mo-1", "mo-0"]
    assert [x.id for x in await store.console_mo(a.id)] == ["mo-2", "mo-0"]
    first = await store.console_mo(limit=1)
    assert [x.id for x in await store.console_mo(before_seq=first[0].seq)] == ["mo-1", "mo-0"]
