"""smsgate nodes as real processes (`python -m smsgate.cli serve`) for scale-out and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.servers import free_port, loopback_config

ROOT = Path(__file__).resolve().parents[2]


def node_env(**settings: Any) -> dict[str, str]:
    """The environment of a node: this source tree, and SMSGATE_* settings (A__B for nesting)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SMSGATE_LOG_LEVEL"] = "warning"
    env["SMSGATE_SMPP__PORT"] = "0"  # no SMPP listener: port 2775 would be shared between nodes
    env["SMSGATE_CONFIG"] = str(loopback_config())  # the receivers are on loopback
    for key, value in settings.items():
        env["SMSGATE_" + key.upper()] = str(value)
    return env


def cli(database: str, *args: str, **settings: Any) -> str:
    """Run one `smsgate` command; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "--database", database, *args],
        env=node_env(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def import_accounts(database: str, tmp: Path, *accounts: dict[str, Any]) -> None:
    doc = tmp / "accounts.json"
    doc.write_text(json.dumps({"accounts": list(accounts)}))
    cli(database, "init")  # creates and migrates (nodes on PostgreSQL do not migrate)
    cli(database, "account", "import", str(doc))


@dataclass
class Node:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def start_node(database: str, tmp: Path, name: str, **settings: Any) -> Node:
    port = free_port()
    log = tmp / f"{name}.log"
    serve = ["serve", "--database", database, "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgate.cli", *serve, "--workers", "1"],
        env=node_env(**settings),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    node = Node(f"http://127.0.0.1:{port}", proc, log)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"node {name} exited:\n{node.tail()}")
            try:
                async with http.get(node.url + "/readyz") as r:
                    if r.status == 200:
                        return node
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    node.stop()
    raise AssertionError(f"node {name} did not start:\n{node.tail()}")
