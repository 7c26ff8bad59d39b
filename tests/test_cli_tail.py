"""`smsgate tail` starts at the end of the history, not by reading all of it (issue 21: 0.5 s and
74 MB for 100k events), and `--since` goes back by a duration or to a time."""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from smsgate.cli import _since
from tests.support.commands import command_env, smsgate

HISTORY = 100_000


class Tail:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = b""

    def started(self, timeout: float = 30.0) -> str:
        """The line tail prints on stderr once it knows where it starts."""
        assert self.proc.stderr is not None
        line = self._line(self.proc.stderr.fileno(), timeout)
        assert line.startswith("following status events after #"), line
        return line

    def lines(self, count: int, timeout: float = 10.0) -> list[str]:
        """The next `count` lines of output (fewer if they do not come in time)."""
        assert self.proc.stdout is not None
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            line = self._line(self.proc.stdout.fileno(), deadline - time.monotonic())
            if line:
                found.append(line)
        return found

    def quiet(self, seconds: float) -> bool:
        """Nothing more is printed for `seconds`."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout.fileno()], [], [], seconds)
        return not ready and b"\n" not in self.out

    def _line(self, fd: int, timeout: float) -> str:
        buffer = self.out if fd == self.proc.stdout.fileno() else b""  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while b"\n" not in buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return ""
            chunk = os.read(fd, 65536)
            if not chunk:
                return ""
            buffer += chunk
        line, _, rest = buffer.partition(b"\n")
        if fd == self.proc.stdout.fileno():  # type: ignore[union-attr]
            self.out = rest
        return line.decode()

    def peak_memory_kb(self) -> int:
        """The process's peak resident set (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")


@contextmanager
def tail(database: Path, *args: str) -> Iterator[Tail]:
    command = ["--database", f"sqlite:///{database}", "tail", "--interval", "0.05", *args]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgate.cli", *command],
        env=command_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield Tail(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def initialised(path: Path) -> Path:
    done = smsgate("--database", f"sqlite:///{path}", "init")
    assert done.returncode == 0, done.stderr
    return path


def add_events(path: Path, ats: list[float], prefix: str) -> list[str]:
    """Status events as the engine writes them (one row each), for message ids prefix-<n>."""
    ids = [f"{prefix}-{n}" for n in range(len(ats))]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO events (message_id, account_id, status, at) VALUES (?, 1, 'delivered', ?)",
            zip(ids, ats, strict=True),
        )
    return ids


def ids_of(lines: list[str]) -> list[str]:
    return [line.split("\t")[1] for line in lines]


def test_tail_starts_at_the_end_of_a_long_history(tmp_path: Path) -> None:
    empty = initialised(tmp_path / "empty.db")
    full = initialised(tmp_path / "full.db")
    add_events(full, [time.time() - 3600] * HISTORY, "old")
    with tail(empty) as baseline, tail(full) as following:
        baseline.started()
        assert following.started() == f"following status events after #{HISTORY} (Ctrl-C to stop)"
        # Reading the whole history cost ~74 MB more than a tail of an empty database.
        grown = following.peak_memory_kb() - baseline.peak_memory_kb()
        assert grown < 16_000, f"{grown} kB more than a tail of an empty database"
        assert following.quiet(0.3)  # none of the history is printed

        new = add_events(full, [time.time()] * 3, "new")
        assert ids_of(following.lines(3)) == new
        assert following.quiet(0.3)


def test_since_goes_back_by_a_duration_or_to_a_time(tmp_path: Path) -> None:
    path = initialised(tmp_path / "smsgate.db")
    now = time.time()
    add_events(path, [now - 7200] * 50, "two-hours-ago")
    recent = add_events(path, [now - 300] * 5, "five-minutes-ago")
    an_hour_ago = datetime.fromtimestamp(now - 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for since in ("10m", an_hour_ago):
        with tail(path, "--since", since) as following:
            assert following.started() == "following status events after #50 (Ctrl-C to stop)"
            assert ids_of(following.lines(len(recent))) == recent
            assert following.quiet(0.3)
            new = add_events(path, [time.time()], f"new-{len(recent)}")
            assert ids_of(following.lines(1)) == new
            recent += new
    with tail(path, "--since", "3h") as following:
        following.started()
        assert len(following.lines(57)) == 57  # all of it, the two new ones included


@pytest.mark.parametrize(
    ("text", "ago"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1.5h", 5400)],
)
def test_since_durations(text: str, ago: float) -> None:
    assert _since(text, 1_000_000.0) == 1_000_000.0 - ago


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("2026-12-06T10:00:00Z", "2026-12-06T10:00:00+00:00"),
        ("2026-12-06 10:00", "2026-12-06T10:00:00+00:00"),  # no offset: UTC, as tail prints
        ("2026-12-06", "2026-12-06T00:00:00+00:00"),
        ("2026-12-06T13:00:00+03:00", "2026-12-06T10:00:00+00:00"),
    ],
)
def test_since_times(text: str, at: str) -> None:
    assert _since(text, 0.0) == datetime.fromisoformat(at).timestamp()


@pytest.mark.parametrize("text", ["yesterday", "10", "-5m", "10 minutes"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(click.BadParameter):
        _since(text, 0.0)
