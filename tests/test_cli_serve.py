"""`smsgate serve` on an HTTP port already in use: one line and exit 1, before anything starts
(issue 21: it was a 30-line traceback with several workers, and with one worker the engine
started, then uvicorn logged the error among its start-up lines)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.commands import one_line, smsgate


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
