"""SQLite: an accept is answered only after the WAL holding it is flushed to disk."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from smsgate.store import _sqlite_writer, open_store
from smsgate.store.base import StoreUnavailable
from tests.store.helpers import make_account, message


async def test_answer_waits_for_the_wal_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/d.db")
    await store.open()
    await store.migrate()
    account = await make_account(store)
    flushed: list[int] = []
    release = threading.Event()
    real_flush = os.fdatasync

    def held_flush(fd: int) -> None:
        release.wait(10)
        real_flush(fd)
        flushed.append(fd)

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", held_flush)
    try:
        pending = asyncio.ensure_future(store.accept(account.id, [message(account.id)]))
        await asyncio.sleep(0.2)
        assert not pending.done()  # committed, but not yet on disk: no answer
        release.set()
        outcomes = await asyncio.wait_for(pending, 5)
        assert [o.kind for o in outcomes] == ["new"] and flushed
    finally:
        release.set()
        monkeypatch.undo()
        await store.close()


async def test_a_failed_flush_is_an_error_not_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/d.db")
    await store.open()
    await store.migrate()
    account = await make_account(store)

    def failing_flush(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", failing_flush)
    try:
        with pytest.raises(StoreUnavailable):
            await store.accept(account.id, [message(account.id)])
    finally:
        monkeypatch.undo()
        await store.close()
