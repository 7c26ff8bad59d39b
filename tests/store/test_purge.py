"""Store contract: the retention purge walks each table from its oldest row a window at a time
(store/retention.py), forgets what settled before the cutoff, commits each window on its own
and stops at rows created after the cutoff without reading the rest (both backends)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import asyncpg
import pytest

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store import rules
from smsgate.store.base import ConnectorEntry, Store
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message, route
from tests.store.test_callback_attempts import tried

DAY = 86400.0
CHUNK = 10  # rows a window: the tables below span several


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "PURGE_CHUNK", CHUNK)


async def select(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of `sql`, read beside the store (a connection of its own)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        try:
            return [tuple(r) for r in conn.execute(sql)]
        finally:
            conn.close()
    pg = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await pg.fetch(sql)]
    finally:
        await pg.close()


async def callbacks(store: Store, n: int, at: float) -> tuple[int, list[int]]:
    """n messages submitted at `at`, each owing one callback created then; the account and
    the outbox ids in the order of the rows."""
    a = await make_account(store, f"acct{at:.0f}", callback_urls={"native": "http://cb"})
    batch = [message(a.id, phone=f"7965{int(at) % 1000:03d}{i:04d}") for i in range(n)]
    await store.accept(a.id, batch)
    assert len(await store.claim_due(time.time(), n, "t", 60.0)) == n
    reports = [
        Report(message_id=m.id, status=Status.SUBMITTED, carrier_id=m.id, at=at) for m in batch
    ]
    await store.record_reports(reports, route)
    return a.id, sorted(i.id for i in await store.outbox_items(a.id))


async def test_old_settled_rows_go_window_by_window_and_the_rest_stays(
    store: Store, database_url: str
) -> None:
    """Over windows of 10 rows: rows created and settled before the cutoff go with their
    attempts; owed callbacks, lines awaiting their report and rows settled since stay."""
    now = time.time()
    old, cutoff = now - 10 * DAY, now - 7 * DAY
    acme, ids = await callbacks(store, 36, old)
    _, recent = await callbacks(store, 4, now)
    done, dead, owed, late = ids[0::4], ids[1::4], ids[2::4], ids[3::4]
    await store.outbox_done(done, old + 60, [tried(i, acme, 1, 200) for i in done])
    await store.outbox_retry(
        dead, old + 60, "HTTP 503", [tried(dead[0], acme, 1, 503, outcome="retry")]
    )
    await store.outbox_dead(dead, "HTTP 410", [tried(dead[0], acme, 2, 410, outcome="dead")])
    await store.outbox_retry(
        owed, now + 60, "HTTP 503", [tried(owed[0], acme, 1, 503, outcome="retry")]
    )
    await store.outbox_retry(late, now - DAY, "HTTP 503")
    await store.outbox_dead(late, "given up lately")
    await store.outbox_done(recent, now)
    lines = [
        ConnectorEntry(message_id=f"m{i}", carrier_id=f"c{i}", submitted_at=old + i)
        for i in range(25)
    ] + [ConnectorEntry(message_id=f"n{i}", carrier_id=f"d{i}", submitted_at=now) for i in range(3)]
    await store.connector_log_add("sim", lines)
    reported = [f"m{i}" for i in range(25) if i % 5] + ["n0"]
    await store.connector_log_reported("sim", reported)

    assert await store.purge(cutoff) == len(done) + len(dead) + 20

    left = {r[0] for r in await select(database_url, "SELECT id FROM outbox")}
    assert left == set(owed) | set(late) | set(recent)
    assert await select(database_url, "SELECT outbox_id, attempt FROM callback_attempts") == [
        (owed[0], 1)
    ]
    lines_left = await select(database_url, "SELECT message_id FROM connector_log ORDER BY seq")
    assert [r[0] for r in lines_left] == [f"m{i}" for i in range(0, 25, 5)] + ["n0", "n1", "n2"]


async def test_a_purge_over_many_rows_commits_window_by_window(
    store: Store, database_url: str
) -> None:
    """Each window is a transaction of its own: a reader beside the store sees the old rows go
    a window at a time, so no writer waits for the whole purge (before, one transaction held
    SQLite's write lock for seconds over a large table)."""
    old = time.time() - 10 * DAY
    _, ids = await callbacks(store, 20 * CHUNK, old)
    await store.outbox_done(ids, old + 60)
    counts: list[int] = []
    purge = asyncio.create_task(store.purge(old + DAY))
    while not purge.done():
        counts.append((await select(database_url, "SELECT count(*) FROM outbox"))[0][0])
        await asyncio.sleep(0)
    assert await purge == len(ids)
    between = {c for c in counts if 0 < c < len(ids)}
    assert between, f"no window committed before the last: counts seen {sorted(set(counts))}"


async def test_a_purge_stops_at_a_window_of_rows_created_after_the_cutoff(
    store: Store, database_url: str
) -> None:
    """Nothing old enough to go: the purge reads the first window of each table and stops.
    Probes past it, rows that the rule alone would take (a callback marked settled before it
    was created, a line stamped far behind the ones around it), are not even seen."""
    now = time.time()
    _, ids = await callbacks(store, 3 * CHUNK, now)
    probe = ids[-5]
    await store.outbox_done([probe], now - 10 * DAY)
    lines = [
        ConnectorEntry(
            message_id=f"m{i}", carrier_id=f"c{i}", submitted_at=now - 10 * DAY if i == 25 else now
        )
        for i in range(3 * CHUNK)
    ]
    await store.connector_log_add("sim", lines)
    await store.connector_log_reported("sim", [e.message_id for e in lines])

    assert await store.purge(now - 7 * DAY) == 0

    assert (await select(database_url, f"SELECT count(*) FROM outbox WHERE id = {probe}")) == [(1,)]
    assert (await select(database_url, "SELECT count(*) FROM connector_log")) == [(3 * CHUNK,)]


async def test_an_sqlite_purge_with_nothing_to_delete_reads_the_same_at_any_size(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work of a purge that finds nothing old (counted in SQLite's virtual machine steps
    on the writer's connection) stays flat as the tables grow tenfold; a scan grows with them."""
    monkeypatch.setattr(rules, "PURGE_CHUNK", 1000)
    now = time.time()
    steps = [0]

    def count(conn: sqlite3.Connection) -> None:
        def tick() -> int:
            steps[0] += 1
            return 0

        conn.set_progress_handler(tick, 100)

    await sqlite_store._write(count)

    async def purge_steps(rows: int) -> int:
        def fill(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload,"
                " next_at, state, created_at, done_at) VALUES (?, 1, 'native', 'dr', 'u', x'',"
                " ?, 'done', ?, ?)",
                [(f"ev-{rows}-{i}", now, now, now) for i in range(rows)],
            )
            conn.executemany(
                "INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at,"
                " reported) VALUES ('sim', ?, 'c', ?, 1)",
                [(f"m-{rows}-{i}", now) for i in range(rows)],
            )

        await sqlite_store._write(fill, rows)
        before = steps[0]
        assert await sqlite_store.purge(now - 7 * DAY) == 0
        return steps[0] - before

    small = await purge_steps(5_000)
    large = await purge_steps(45_000)  # the tables hold 50,000 rows each now
    assert large < 1.5 * small, (small, large)


async def test_a_line_whose_message_is_final_is_settled_unmarked(
    store: Store, database_url: str
) -> None:
    """A connector-log line is owed a report until it is marked or its message is final: an
    unmarked line of a delivered message is neither pending nor kept by the purge; one of a
    message still submitted is both, however old (the simulator on SQLite marks none)."""
    a = await make_account(store)
    done, open_ = message(a.id, phone="79651110001"), message(a.id, phone="79651110002")
    await store.accept(a.id, [done, open_])
    assert len(await store.claim_due(time.time(), 10, "t", 60.0)) == 2
    old = time.time() - 10 * DAY
    await store.connector_log_add(
        "sim",
        [ConnectorEntry(message_id=m.id, carrier_id=m.id, submitted_at=old) for m in (done, open_)],
    )
    taken = [Report(message_id=m.id, status=Status.SUBMITTED, at=old) for m in (done, open_)]
    await store.record_reports(taken, route)
    assert {e.message_id for e in await store.connector_log_pending("sim")} == {done.id, open_.id}
    await store.record_reports([Report(message_id=done.id, status=Status.DELIVERED, at=old)], route)
    assert [e.message_id for e in await store.connector_log_pending("sim")] == [open_.id]

    assert await store.purge(time.time() - 7 * DAY) == 1

    lines_left = await select(database_url, "SELECT message_id FROM connector_log")
    assert lines_left == [(open_.id,)]
