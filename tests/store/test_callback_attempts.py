"""Store contract: each callback attempt is kept with the outbox mark that follows it (done,
retry, dead), read back per message, and purged with its outbox row (both backends)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import asyncpg

from smsgate.core.models import Message, MoMessage, Report, StatusEvent
from smsgate.core.status import Status
from smsgate.store.base import CallbackAttempt, Store
from tests.store.helpers import make_account, message


def route(
    message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
) -> list[tuple[str, str]]:
    return sorted(urls.items())


def tried(
    outbox_id: int,
    account_id: int,
    attempt: int,
    status: int | None,
    error: str | None = None,
    outcome: str = "done",
    at: float = 1_800_000_000.0,
) -> CallbackAttempt:
    return CallbackAttempt(
        outbox_id=outbox_id,
        account_id=account_id,
        attempt=attempt,
        started_at=at,
        host="hooks.example:8443",
        status=status,
        error=error,
        took_ms=12 * attempt,
        outcome=outcome,
    )


async def attempt_rows(url: str) -> int:
    """The rows of callback_attempts, counted beside the store."""
    sql = "SELECT count(*) FROM callback_attempts"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    pg = await asyncpg.connect(url)
    try:
        return int(await pg.fetchval(sql))
    finally:
        await pg.close()


async def submitted(store: Store, urls: dict[str, str], n: int = 1) -> list[Message]:
    """n messages of account "acme", each with a SUBMITTED event owing one callback a URL."""
    a = await make_account(store, callback_urls=urls)
    batch = [message(a.id, phone=f"7965000{i:04d}") for i in range(n)]
    await store.accept(a.id, batch)
    now = time.time()
    assert len(await store.claim_due(now, n, "t", 60.0)) == n  # handed to a connector
    await store.record_reports(
        [Report(message_id=m.id, status=Status.SUBMITTED, carrier_id=m.id, at=now) for m in batch],
        route,
    )
    return batch


async def test_each_mark_keeps_its_attempts_read_back_per_message(store: Store) -> None:
    """A 500 then a success on one callback, a timeout that gives up another: every attempt in
    the order the callbacks were queued, then by number, with the outbox's count matching."""
    [m] = await submitted(store, {"native": "http://a/n", "msghub": "http://a/m"})
    rows = {i.dialect: i for i in await store.outbox_items(m.account_id)}
    native, msghub = rows["native"].id, rows["msghub"].id
    first = min(native, msghub)
    acme = m.account_id
    now = time.time()
    await store.outbox_retry(
        [native], now, "HTTP 500", [tried(native, acme, 1, 500, outcome="retry")]
    )
    await store.outbox_done([native], now, [tried(native, acme, 2, 200)])
    timeout = "TimeoutError: timed out"
    await store.outbox_dead(
        [msghub], timeout, [tried(msghub, acme, 1, None, timeout, outcome="dead")]
    )

    found = await store.callback_attempts(m.id)
    assert [(a.outbox_id, a.attempt) for a in found] == (
        [(native, 1), (native, 2), (msghub, 1)]
        if first == native
        else [(msghub, 1), (native, 1), (native, 2)]
    )
    by_key = {(a.outbox_id, a.attempt): a for a in found}
    assert by_key[native, 1].status == 500 and by_key[native, 1].error is None
    assert by_key[native, 2].outcome == "done" and by_key[native, 2].took_ms == 24
    lost = by_key[msghub, 1]
    assert lost.status is None and lost.error == timeout and lost.dialect == "msghub"
    assert {a.event_id for a in found} == {rows["native"].event_id}
    assert {a.kind for a in found} == {"dr"} and {a.account_id for a in found} == {acme}
    assert lost.host == "hooks.example:8443" and lost.started_at == 1_800_000_000.0
    states = {s.dialect: s for s in await store.callbacks_of(acme, m.id)}
    assert (states["native"].state, states["native"].attempts) == ("done", 2)
    assert (states["msghub"].state, states["msghub"].attempts) == ("dead", 1)
    assert await store.callback_attempts("no-such-message") == []


async def test_a_success_is_kept_in_its_outbox_row_and_a_failure_as_a_row(
    store: Store, database_url: str
) -> None:
    """The done mark keeps its attempt in the row it updates anyway: a first-try success
    writes no attempt row; a failure does, and a success after it is read back after it."""
    first, second = await submitted(store, {"native": "http://a/n"}, n=2)
    one, two = (i.id for i in await store.outbox_items(first.account_id))
    acme = first.account_id
    now = time.time()
    await store.outbox_done([one], now, [tried(one, acme, 1, 200)])
    assert await attempt_rows(database_url) == 0
    [kept] = await store.callback_attempts(first.id)
    assert (kept.attempt, kept.status, kept.took_ms, kept.outcome) == (1, 200, 12, "done")
    assert (kept.host, kept.started_at, kept.error) == ("hooks.example:8443", 1_800_000_000.0, None)
    await store.outbox_retry([two], now, "HTTP 503", [tried(two, acme, 1, 503, outcome="retry")])
    await store.outbox_done([two], now, [tried(two, acme, 2, 201, at=1_800_000_060.0)])
    assert await attempt_rows(database_url) == 1
    found = await store.callback_attempts(second.id)
    assert [(a.attempt, a.status, a.outcome) for a in found] == [
        (1, 503, "retry"),
        (2, 201, "done"),
    ]
    assert found[1].started_at == 1_800_000_060.0


async def test_a_batch_is_an_attempt_of_each_row_and_only_their_messages_see_them(
    store: Store,
) -> None:
    batch = await submitted(store, {"msghub": "http://a/m"}, n=3)
    items = await store.outbox_items(batch[0].account_id)
    acme = batch[0].account_id
    at = time.time()
    # Concurrent marks (PostgreSQL coalesces them into one statement) keep every attempt.
    await asyncio.gather(
        *(store.outbox_done([i.id], at, [tried(i.id, acme, 1, 204)]) for i in items)
    )
    for m in batch:
        [one] = await store.callback_attempts(m.id)
        assert one.status == 204 and one.event_id in {i.event_id for i in items}
    assert len({(await store.callback_attempts(m.id))[0].outbox_id for m in batch}) == 3


async def test_an_attempt_written_twice_keeps_the_first(store: Store) -> None:
    """Two notifiers on one database may both try a row whose lease lapsed: the attempt with
    the same number is kept once, the first written, and the mark is not refused."""
    [m] = await submitted(store, {"native": "http://a/n"})
    [item] = await store.outbox_items(m.account_id)
    now = time.time()
    await store.outbox_retry(
        [item.id], now, "HTTP 502", [tried(item.id, m.account_id, 1, 502, outcome="retry")]
    )
    await store.outbox_done([item.id], now, [tried(item.id, m.account_id, 1, 200)])
    [kept] = await store.callback_attempts(m.id)
    assert kept.status == 502
    [state] = await store.callbacks_of(m.account_id, m.id)
    assert state.state == "done"


async def test_marks_without_attempts_still_settle_the_rows(store: Store) -> None:
    """A callback given up unsent (its message gone, no policy) has no attempt to keep."""
    [m] = await submitted(store, {"native": "http://a/n"})
    [item] = await store.outbox_items(m.account_id)
    await store.outbox_dead([item.id], "its message is gone")
    assert await store.callback_attempts(m.id) == []
    [state] = await store.callbacks_of(m.account_id, m.id)
    assert (state.state, state.last_error) == ("dead", "its message is gone")


async def test_purge_forgets_the_attempts_with_their_outbox_rows(store: Store) -> None:
    batch = await submitted(store, {"native": "http://a/n"}, n=3)
    old, dead, pending = [
        (await store.outbox_items(m.account_id))[i].id for i, m in enumerate(batch)
    ]
    acme = batch[0].account_id
    now = time.time()
    await store.outbox_done([old], now - 10 * 86400, [tried(old, acme, 1, 200)])
    await store.outbox_dead([dead], "HTTP 410", [tried(dead, acme, 1, 410, outcome="dead")])
    await store.outbox_retry(
        [pending], now - 9 * 86400, "HTTP 503", [tried(pending, acme, 1, 503, outcome="retry")]
    )
    assert await store.purge(now - 7 * 86400) == 1  # the old delivered callback only
    old_m, dead_m, pending_m = batch
    assert await store.callback_attempts(old_m.id) == []
    assert [a.status for a in await store.callback_attempts(dead_m.id)] == [410]
    assert [a.status for a in await store.callback_attempts(pending_m.id)] == [503]
    assert await store.purge(now + 1) == 1  # the dead one now; the pending one is still owed
    assert await store.callback_attempts(dead_m.id) == []
    assert [a.status for a in await store.callback_attempts(pending_m.id)] == [503]
