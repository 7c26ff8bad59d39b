"""With several workers, callbacks go out from a notifier process of their own."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support.processes import Server, provision
from tests.support.servers import Receiver, free_port

pytestmark = pytest.mark.slow  # a real `smsgate serve --workers 2`, its notifier killed
HEADERS = {"Authorization": "Bearer notify-token"}


def _notifier_pids(log: Path) -> list[int]:
    return [int(p) for p in re.findall(r"notifier running \(pid (\d+)\)", log.read_text())]


async def _logged_notifiers(log: Path, n: int) -> list[int]:
    """The pids of the first `n` notifier processes, once their start-up lines are written: a
    running process writes its log lines every logs.FLUSH_EVERY seconds, not at once."""
    for _ in range(100):
        pids = _notifier_pids(log)
        if len(pids) >= n:
            return pids
        await asyncio.sleep(0.05)
    return _notifier_pids(log)


async def _send(
    http: aiohttp.ClientSession, server: Server, receiver: Receiver, n: int
) -> set[str]:
    ids = set()
    for i in range(n):
        body = {"to": f"+7965{i:07d}", "text": "hi", "callback_url": receiver.url + "/dr"}
        async with http.post(server.url + "/api/v1/messages", json=body, headers=HEADERS) as r:
            assert r.status == 201
            ids.add((await r.json())["id"])
    return ids


async def _delivered(receiver: Receiver, ids: set[str], timeout: float = 20.0) -> None:
    """Every one of `ids` has had its "delivered" callback (at least once)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {
            event["message"]["id"]
            for request in receiver.requests
            for event in [json.loads(request.body)]
            if event.get("status") == "delivered"
        }
        if ids <= seen:
            return
        assert time.monotonic() < deadline, f"{len(ids - seen)} callbacks missing"
        await asyncio.sleep(0.05)


async def test_callbacks_survive_the_notifier_process_dying(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = f"sqlite:///{tmp_path / 'notify.db'}"
    provision(
        db,
        [
            {
                "name": "notify",
                "balance": "1000",
                "price": "0.01",
                "credentials": [{"dialect": "native", "kind": "token", "secret": "notify-token"}],
            }
        ],
        tmp_path,
    )
    env = {"SMSGATE_SIMULATOR__DR_DELAY": "0.05", "SMSGATE_LOG_LEVEL": "info"}
    server = Server(db, free_port(), tmp_path / "server.log", workers=2, env=env)
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            first = await _send(http, server, receiver, 20)
            await _delivered(receiver, first)
            [notifier] = await _logged_notifiers(server.log, 1)
            assert server.proc is not None and notifier != server.proc.pid  # its own process
            os.kill(notifier, signal.SIGKILL)
            second = await _send(http, server, receiver, 20)  # queued while it is down
            await _delivered(receiver, second)
            assert (
                len(await _logged_notifiers(server.log, 2)) == 2
            )  # the supervisor started another
    finally:
        server.stop()
