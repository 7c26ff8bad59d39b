"""The SMPP listen address is per node: a taken one stops `serve` with one line, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.nodes import cli, node_env, start_node
from tests.support.servers import free_port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_smpp_port_stops_serve_with_one_line(tmp_path: Path, workers: str) -> None:
    database = f"sqlite:///{tmp_path}/d.db"
    cli(database, "init")
    with socket.socket() as taken:  # another node on this host, listening on its SMPP port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = ["serve", "--host", "127.0.0.1", "--port", str(free_port()), "--workers", workers]
        done = subprocess.run(
            [sys.executable, "-m", "smsgate.cli", "--database", database, *serve],
            env=node_env(smpp__port=port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines[0]
    assert "[smpp] port" in lines[0]  # says what to change


async def test_each_node_listens_on_its_own_smpp_port(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/d.db"
    cli(database, "init")
    port = free_port()
    node = await start_node(database, tmp_path, "a", smpp__port=port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the SMPP server of this node took the port it was given
    finally:
        node.stop()
