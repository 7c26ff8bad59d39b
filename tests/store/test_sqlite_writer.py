"""SQLite's writer: a bulk-sized group commits without checkpointing; a thread does it after."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.store import _sqlite_writer
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message


async def test_a_bulk_commit_leaves_the_checkpoint_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_writer, "HEAVY", 5)
    monkeypatch.setattr(_sqlite_writer, "BULK", 20)
    path = tmp_path / "x.db"
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store)
        writer = store._writer
        assert writer is not None and writer._conn is not None
        outcomes = await store.accept(a.id, [message(a.id) for _ in range(30)])
        assert all(o.kind == "new" for o in outcomes)
        # the bulk's COMMIT ran with automatic checkpoints off...
        assert writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        assert writer._checkpointer is not None
        writer._checkpointer.submit(lambda: None).result()  # ...and the thread has done it
        assert writer._checkpoint_conn is not None
        # a light group turns them back on
        await store.accept(a.id, [message(a.id)])
        assert writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    finally:
        await store.close()
