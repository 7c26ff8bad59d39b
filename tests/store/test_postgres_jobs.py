"""PostgreSQL only: migration 8 (a job's messages found by their seq range, no index on
messages.job_id) and the ranges accepts record."""

from __future__ import annotations

import asyncpg
import pytest

from smsgate.core.ids import new_id
from smsgate.core.models import Job
from smsgate.store.migrations import migrations
from smsgate.store.postgres import PostgresStore, split_url
from tests.store.helpers import make_account, message

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def _version_7(url: str) -> None:
    """A database as version 7 left it: one job of two messages, with another message between."""
    conn = await asyncpg.connect(split_url(url)[0])
    try:
        await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, sql in migrations("postgres"):
            if version <= 7:
                await conn.execute(sql)
        await conn.execute("INSERT INTO schema_version VALUES (7)")
        await conn.execute("INSERT INTO accounts (id, name, created_at) VALUES (1, 'old', 0)")
        await conn.execute("INSERT INTO jobs VALUES ('job-1', 1, 'native', NULL, 2, 0, NULL)")
        for seq, job in ((1, "job-1"), (2, None), (3, "job-1")):
            await conn.execute(
                "INSERT INTO messages (seq, id, account_id, dialect, job_id, phone, text,"
                " encoding, segments, status, created_at, updated_at)"
                " VALUES ($1, $2, 1, 'native', $3, '79650000000', 'hi', 'gsm7', 1, 'queued', 0, 0)",
                seq,
                f"m{seq}",
                job,
            )
    finally:
        await conn.close()


async def test_migration_8_fills_job_ranges_and_drops_the_job_index(database_url: str) -> None:
    await _version_7(database_url)
    store = PostgresStore(database_url)
    await store.open()
    try:
        assert await store.migrate() >= 8
        conn = await asyncpg.connect(split_url(database_url)[0])
        try:
            assert await conn.fetch("SELECT first_seq, last_seq FROM jobs") == [(1, 3)]
            indexes = await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
            assert "messages_job" not in {r[0] for r in indexes}
        finally:
            await conn.close()
        counts = await store.get_job(1, "job-1")
        assert counts is not None and counts.by_status == {"queued": 2}
        assert [m.id for m in await store.job_messages(1, "job-1")] == ["m1", "m3"]
    finally:
        await store.close()


@pytest.mark.parametrize("n", [2, 1200])  # one INSERT in a group commit; COPY
async def test_a_job_is_stored_with_its_seq_range(
    store: PostgresStore, database_url: str, n: int
) -> None:
    a = await make_account(store, balance=10**12)
    job = Job(id=new_id(), account_id=a.id, dialect="native", total=n)
    await store.accept(a.id, [message(a.id)])  # outside the job, before it
    inside = [message(a.id, f"7965{i:07d}", job_id=job.id) for i in range(n)]
    await store.accept(a.id, inside, job=job)
    await store.accept(a.id, [message(a.id)])  # and after it
    seqs = [m.seq for m in inside]
    conn = await asyncpg.connect(split_url(database_url)[0])
    try:
        found = await conn.fetch("SELECT first_seq, last_seq FROM jobs WHERE id = $1", job.id)
    finally:
        await conn.close()
    assert found == [(min(seqs), max(seqs))]
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"accepted": n}
    listed = await store.job_messages(a.id, job.id, limit=n + 5)
    assert [m.id for m in listed] == [m.id for m in sorted(inside, key=lambda m: m.seq)]
