"""What each server process costs beside its work. The wake-up it sends another down a pipe
(server._Waker): at once when none went lately, then at most one per WAKE_SPACING for any
number of asks, and never none for the last ask (a real pipe, read as the reader process
reads it). And its heap, frozen once it is ready to serve."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from smsgate import server
from smsgate.config import Config
from smsgate.store.sqlite import SQLiteStore


def _drained(fd: int) -> int:
    got = 0
    try:
        while chunk := os.read(fd, 4096):
            got += len(chunk)
    except BlockingIOError:
        pass
    return got


async def test_a_burst_of_asks_wakes_the_reader_twice_and_the_last_is_not_lost() -> None:
    # A spacing far longer than the burst takes, so that a loaded machine pausing this test
    # for the default 5 ms cannot turn the burst into two (it did, in CI at load)
    spacing = 0.25
    reader, writer = multiprocessing.Pipe(duplex=False)
    os.set_blocking(reader.fileno(), False)
    wake = server._Waker(writer, spacing)
    try:
        wake()  # none went before: at once, before the loop turns
        assert _drained(reader.fileno()) == 1
        for _ in range(1000):  # a burst, as under load: one more, when the spacing is up
            wake()
        assert _drained(reader.fileno()) == 0
        await asyncio.sleep(spacing * 1.5)
        assert _drained(reader.fileno()) == 1
        await asyncio.sleep(spacing * 1.5)
        assert _drained(reader.fileno()) == 0  # nothing asked since
        wake()  # idle for longer than the spacing: at once again
        assert _drained(reader.fileno()) == 1
    finally:
        if wake._pending is not None:  # a failed assert leaves one due: not on a closed pipe
            wake._pending.cancel()
        reader.close()
        writer.close()


async def test_an_ask_after_the_reader_emptied_the_pipe_still_wakes_it() -> None:
    """The case a plain "sent lately, skip" would lose: the reader empties the pipe between two
    asks that come within the spacing, then waits. The second ask's byte still comes."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    os.set_blocking(reader.fileno(), False)
    woken = asyncio.Event()
    loop = asyncio.get_running_loop()

    def read() -> None:
        _drained(reader.fileno())
        woken.set()

    loop.add_reader(reader.fileno(), read)
    wake = server._Waker(writer)
    try:
        wake()
        await asyncio.wait_for(woken.wait(), 1)
        woken.clear()
        wake()  # within the spacing, after the reader emptied the pipe
        await asyncio.wait_for(woken.wait(), 1)
    finally:
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()


def test_a_process_ready_to_serve_hides_its_heap_from_full_collections() -> None:
    """What startup built is frozen: a full collection no longer walks it."""
    gc.unfreeze()
    try:
        assert len(gc.get_objects()) > 10_000  # this test process's own heap
        server._freeze_heap()
        assert gc.get_freeze_count() > 10_000
        assert len(gc.get_objects()) < 1_000
    finally:
        gc.unfreeze()


def test_a_process_ready_to_serve_collects_young_objects_seldom() -> None:
    """Young collections that free nothing (5-6% of every process under the full loop at
    CPython's 700) come only after a claim's or a commit group's worth of new objects."""
    before = gc.get_threshold()
    try:
        server._freeze_heap()
        young, *older = gc.get_threshold()
        assert young == server.YOUNG_OBJECTS >= 10_000
        assert older == list(before[1:])  # older generations as they were
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_only_the_notifier_process_commits_without_a_flush(tmp_path: Path) -> None:
    """The engine's commits (claims, receipts, incoming SMS) are flushed as the workers' are;
    the notifier process's (leases, marks) are not. The engine's store once took the
    notifier's options too."""
    config = Config(database=f"sqlite:///{tmp_path}/p.db", workers=2, sqlite_synchronous="FULL")
    engine = server._process_store(config)
    notifier = server._process_store(config, notifier=True)
    assert isinstance(engine, SQLiteStore) and isinstance(notifier, SQLiteStore)
    assert engine.synchronous == "FULL"
    assert notifier.synchronous == "NORMAL"


def test_the_engine_process_commits_large_groups_on_its_loop(tmp_path: Path) -> None:
    """Beside HTTP workers the engine serves no requests: its claims and receipt batches
    commit on its event loop, not on the writer thread (the notifier's claims are small)."""
    config = Config(database=f"sqlite:///{tmp_path}/p.db", workers=2)
    engine = server._process_store(config)
    notifier = server._process_store(config, notifier=True)
    assert isinstance(engine, SQLiteStore) and isinstance(notifier, SQLiteStore)
    assert engine.heavy_on_loop and not notifier.heavy_on_loop


def test_a_node_builds_the_number_table_before_its_first_request(tmp_path: Path) -> None:
    """The table of numbers that can exist (core.numbering) is built with the node, not inside
    the first request that checks a phone: the first bulk after a start paid its ~0.2 s. In a
    process of its own, where nothing has built the table yet."""
    script = (
        "import sys\n"
        "from smsgate.app import build_node, enabled_dialects\n"
        "from smsgate.config import Config\n"
        "from smsgate.core import numbering\n"
        "assert not numbering.TABLE\n"
        f"config = Config(database='sqlite:///{tmp_path}/n.db')\n"
        "build_node(config, enabled_dialects(config), run_engine=False)\n"
        "sys.exit(0 if len(numbering.TABLE) > 5000 and numbering.DEEPER else 1)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
