"""`smsgate serve` on an HTTP port already in use: one line and exit 1, before anything starts
(issue 21: it was a 30-line traceback with several workers, and with one worker the engine
started, then uvicorn logged the error among its start-up lines)."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from tests.support.commands import one_line, smsgate
from tests.support.processes import Server, provision
from tests.support.servers import free_port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_http_port_stops_serve_with_one_line(tmp_path: Path, workers: str) -> None:
    path = tmp_path / "smsgate.db"
    assert smsgate("--database", f"sqlite:///{path}", "init").returncode == 0
    with socket.socket() as taken:  # another server on the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = smsgate(
            *("--database", f"sqlite:///{path}", "serve", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", workers),
            env={"SMSGATE_LOG_LEVEL": "info"},
        )
    line = one_line(done)
    assert f"cannot listen for HTTP on 127.0.0.1:{port}" in line
    assert "in use" in line and "--port" in line  # why, and what to change


def test_nothing_is_created_or_migrated_before_the_port_is_known_free(tmp_path: Path) -> None:
    path = tmp_path / "smsgate.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = smsgate("--database", f"sqlite:///{path}", "serve", "--create", "--port", port)
    assert "cannot listen for HTTP" in one_line(done)
    assert not path.exists()


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _tcp(port: int, state: str) -> set[str]:
    """The inodes of 127.0.0.1's TCP sockets on local `port` in `state` (0A listen, 01 open)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(fields[9])
    return found


def test_each_worker_listens_on_its_own_socket_and_gets_its_share(tmp_path: Path) -> None:
    """With one socket shared by every worker, the worker whose loop woke first accepted all
    the connections waiting (79-93% of wrk's 64 went to one worker): one listening socket a
    worker on the port (SO_REUSEPORT), the kernel spreading connections over them."""
    db = f"sqlite:///{tmp_path / 'smsgate.db'}"
    provision(db, [], tmp_path)
    port = free_port()
    server = Server(db, port, tmp_path / "server.log", workers=2)
    server.start()
    clients: list[socket.socket] = []
    try:
        assert server.proc is not None
        listening = _tcp(port, "0A")
        workers = {p: _socket_inodes(p) & listening for p in _children(server.proc.pid)}
        workers = {p: inodes for p, inodes in workers.items() if inodes}
        assert len(workers) == 2
        own = list(workers.values())
        assert len(own[0]) == len(own[1]) == 1 and own[0] != own[1]  # a socket each
        for _ in range(32):  # a burst, as a client's pool opens them
            clients.append(socket.create_connection(("127.0.0.1", port)))
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        open_ = _tcp(port, "01")
        shares = sorted(len(_socket_inodes(p) & open_) for p in workers)
        assert sum(shares) == 32
        assert shares[0] >= 4, shares  # by the 4-tuple's hash: 1 in 200,000 runs would fail
    finally:
        for client in clients:
            client.close()
        server.stop()


def _wake_ups(pid: int) -> int:
    """The voluntary context switches of a process's main thread: each time its loop slept."""
    for line in Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError(f"no context switches for {pid}")


def test_an_idle_worker_wakes_about_once_a_second(tmp_path: Path) -> None:
    """uvicorn's main loop slept 0.1 s between looks at its exit flag and its clock: ten
    wake-ups a second in every idle worker, most of an idle server's CPU. Now once a second
    (the Date header's resolution), and SIGTERM still stops the server at once (stop)."""
    db = f"sqlite:///{tmp_path / 'smsgate.db'}"
    provision(db, [], tmp_path)
    port = free_port()
    server = Server(db, port, tmp_path / "server.log", workers=2)
    server.start()
    try:
        assert server.proc is not None
        listening = _tcp(port, "0A")
        workers = [p for p in _children(server.proc.pid) if _socket_inodes(p) & listening]
        assert len(workers) == 2
        before = [_wake_ups(p) for p in workers]
        time.sleep(3.0)
        woken = [_wake_ups(p) - b for p, b in zip(workers, before, strict=True)]
        assert max(woken) <= 12, woken  # ten a second: 30 or more
    finally:
        server.stop()
