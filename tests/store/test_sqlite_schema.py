"""SQLite-only facts: migration 2 (a job's messages found by their seq range), migration 3
(pending callbacks indexed with their dialect), merged accepts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from smsgate.core.ids import new_id
from smsgate.core.models import Job
from smsgate.store.base import OutboxScope
from smsgate.store.migrations import migrations, statements
from smsgate.store.queries import load
from smsgate.store.sqlite import AcceptOp, SQLiteStore, accept_many
from tests.store.helpers import make_account, message


def _version_1(path: Path) -> None:
    """A database as version 1 left it: one job of two messages, with another message between."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    [(_, sql)] = [m for m in migrations("sqlite") if m[0] == 1]
    for statement in statements(sql):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'old', 0)")
    conn.execute("INSERT INTO jobs VALUES ('job-1', 1, 'native', NULL, 2, 0, NULL)")
    for seq, job in ((1, "job-1"), (2, None), (3, "job-1")):
        conn.execute(
            "INSERT INTO messages (seq, id, account_id, dialect, job_id, phone, text, encoding,"
            " segments, status, created_at, updated_at)"
            " VALUES (?, ?, 1, 'native', ?, '79650000000', 'hi', 'gsm7', 1, 'queued', 0, 0)",
            (seq, f"m{seq}", job),
        )
    conn.close()


async def test_migration_2_fills_job_ranges_and_drops_the_job_index(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _version_1(path)
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        assert await store.migrate() >= 2
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT first_seq, last_seq FROM jobs").fetchall() == [(1, 3)]
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "messages_job" not in indexes
        conn.close()
        counts = await store.get_job(1, "job-1")
        assert counts is not None and counts.by_status == {"queued": 2}
        assert [m.id for m in await store.job_messages(1, "job-1")] == ["m1", "m3"]
    finally:
        await store.close()


async def test_migration_3_scoped_claims_tell_dialects_apart_in_the_index(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _version_1(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executemany(  # callbacks queued before the upgrade
        "INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at,"
        " created_at) VALUES (?, 1, ?, 'dr', 'http://cb', x'7b7d', 1, 1)",
        [("ev-1", "native"), ("ev-2", "smpp")],
    )
    conn.close()
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        assert await store.migrate() >= 3
        only_smpp = OutboxScope(only=frozenset({"smpp"}))
        assert [i.event_id for i in await store.outbox_claim(2.0, 10, 30.0, only_smpp)] == ["ev-2"]
        assert [i.event_id for i in await store.outbox_claim(2.0, 10, 30.0)] == ["ev-1"]
        conn = sqlite3.connect(path)
        columns = [r[2] for r in conn.execute("PRAGMA index_info(outbox_due)")]
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + load("sqlite")["outbox_due"],
            {"now": 2.0, "only": '["smpp"]', "skip": "[]", "limit": 10},
        ).fetchall()
        conn.close()
        # the index holds the dialect (version 2's did not), in claim order: no sort
        assert columns == ["next_at", "id", "dialect"]
        # (the claim reads each due callback's event or incoming SMS with it: `o` is the outbox)
        assert plan[0][-1] == "SEARCH o USING INDEX outbox_due (next_at<?)"
        assert not any("B-TREE" in row[-1] or "SCAN o" in row[-1] for row in plan), plan
    finally:
        await store.close()


async def test_job_reads_search_the_seq_range_not_the_table(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'x.db'}")
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store)
        job = Job(id=new_id(), account_id=a.id, dialect="native", total=2)
        await store.accept(a.id, [message(a.id)])  # outside the job
        inside = [message(a.id, job_id=job.id), message(a.id, job_id=job.id)]
        await store.accept(a.id, inside, job=job)
        await store.accept(a.id, [message(a.id)])
        conn = sqlite3.connect(tmp_path / "x.db")
        assert conn.execute("SELECT first_seq, last_seq FROM jobs").fetchall() == [(2, 3)]
        queries = load("sqlite")
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + queries["job_counts"], {"job_id": job.id, "account_id": a.id}
        ).fetchall()
        plan += conn.execute(
            "EXPLAIN QUERY PLAN " + queries["messages_list"],
            {"account_id": a.id, "after_seq": 0, "limit": 10, "job_id": job.id}
            | dict.fromkeys(["status", "phone", "dialect", "since", "until"]),
        ).fetchall()
        conn.close()
        assert not any("SCAN messages" in row[-1] for row in plan), plan
        counts = await store.get_job(a.id, job.id)
        assert counts is not None and counts.by_status == {"accepted": 2}
        assert [m.id for m in await store.job_messages(a.id, job.id)] == [m.id for m in inside]
    finally:
        await store.close()


async def test_a_merged_group_sees_each_requests_references(tmp_path: Path) -> None:
    """Requests merged into one transaction: a later one repeating an earlier one's fresh
    reference gets the earlier message (not a unique-index failure of the whole group)."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'x.db'}")
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store)
    finally:
        await store.close()
    first = [message(a.id, client_ref=f"r{i}") for i in range(3)]
    second = [message(a.id, client_ref="r1"), message(a.id, client_ref="r9")]
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    one, two = accept_many(
        conn, [AcceptOp(a.id, first, None, False), AcceptOp(a.id, second, None, False)]
    )
    conn.execute("COMMIT")
    assert [o.kind for o in one] == ["new"] * 3
    assert [o.kind for o in two] == ["duplicate", "new"]
    assert two[0].message is first[1]
    assert conn.execute("SELECT count(*) FROM messages").fetchone() == (4,)
    conn.close()
