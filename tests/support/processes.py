"""smsgate as a real process: start, wait until it answers, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import loopback_config

ROOT = Path(__file__).resolve().parents[2]
_LOOPBACK = {"SMSGATE_CONFIG": str(loopback_config())}  # the receivers are on loopback


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", *args],
        cwd=ROOT,
        env={**os.environ, **_LOOPBACK, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def provision(database: str, accounts: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / "accounts.json"
    path.write_text(json.dumps({"accounts": accounts}))
    cli("--database", database, "init")  # creates and migrates: no other command does
    cli("--database", database, "account", "import", str(path))


class Server:
    def __init__(
        self,
        database: str,
        port: int,
        log: Path,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.workers = workers
        # No SMPP listener unless a test asks for one: port 2775 may be another test's.
        self.env = {"SMSGATE_SMPP__PORT": "0", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "smsgate.cli",
                    "serve",
                    "--database",
                    self.database,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env={**os.environ, **_LOOPBACK, "PYTHONPATH": str(ROOT), **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start: " + self.log.read_text()[-3000:])

    def kill9(self) -> None:
        """The whole process group at once, as a power cut would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def query(db_path: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database directly, as an operator would (WAL allows it while the server runs)."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
