"""`admin_listen`: the console and admin API on a listener of their own, served by every
worker of a real `smsgate serve`; the main listener then has no /admin at all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import Server, cli
from tests.support.servers import free_port


@pytest.mark.slow
def test_console_on_its_own_listener(tmp_path: Path) -> None:
    """Two workers: both sockets are passed to each (one worker serves them alike)."""
    workers = 2
    database = f"sqlite:///{tmp_path}/s.db"
    cli("--database", database, "init")
    cli("--database", database, "admin", "create", "alice", "--password", "alice-pass-1")
    admin_port = free_port()
    server = Server(
        database,
        free_port(),
        tmp_path / "serve.log",
        workers=workers,
        env={"SMSGATE_ADMIN_LISTEN": f"127.0.0.1:{admin_port}"},
    )
    server.start()
    try:
        console = f"http://127.0.0.1:{admin_port}"
        assert httpx.get(f"{server.url}/admin/api/me").status_code == 404
        assert httpx.get(f"{console}/admin/api/me").status_code == 401
        assert httpx.get(f"{console}/api/v1/balance").status_code == 404  # no dialect here
        with httpx.Client(base_url=console) as client:
            for _ in range(workers * 2):  # new connections: each worker serves this socket
                login = client.post(
                    "/admin/api/login",
                    json={"username": "alice", "password": "alice-pass-1"},
                    headers={"Connection": "close"},
                )
                assert login.status_code == 200, login.text
                assert login.headers["x-frame-options"] == "DENY"
            status = client.get("/admin/api/status")
            assert status.status_code == 200 and status.json()["connector"] == "simulator"
    finally:
        server.stop()
