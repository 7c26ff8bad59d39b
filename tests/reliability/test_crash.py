"""kill -9 in the middle of dispatching: nothing accepted is lost, nothing is sent twice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support.processes import Server, provision, query
from tests.support.servers import Receiver, free_port

pytestmark = pytest.mark.slow
BULK = 50_000


async def _singles(url: str, receiver: Receiver, accepted: list[str], stop: asyncio.Event) -> None:
    headers = {"Authorization": "Bearer crash-token"}
    async with aiohttp.ClientSession() as http:
        i = 0
        while not stop.is_set():
            body = {
                "to": f"+7966{i:07d}",
                "text": f"single {i}",
                "callback_url": receiver.url + "/dr",
            }
            try:
                r = await http.post(url + "/api/v1/messages", json=body, headers=headers)
                if r.status == 201:
                    accepted.append((await r.json())["id"])
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)  # the server is down: a client retries later
            i += 1


async def test_kill9_mid_dispatch_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    db = str(tmp_path / "crash.db")
    url = f"sqlite:///{db}"
    provision(
        url,
        [
            {
                "name": "crash",
                "balance": "1000000",
                "price": "0.01",
                "credentials": [{"dialect": "native", "kind": "token", "secret": "crash-token"}],
            }
        ],
        tmp_path,
    )
    env = {
        "SMSGATE_SIMULATOR__DR_DELAY": "0.1",
        "SMSGATE_SIMULATOR__SUBMIT_LATENCY": "0.02",
        "SMSGATE_NOTIFIER__DELAY_SCALE": "0.01",
    }
    # The receiver is down (500) for its first 50 requests, then fine.
    receiver.respond = lambda req, n: (500, b"down") if n <= 50 else (200, b"OK")
    server = Server(url, free_port(), tmp_path / "server.log", workers=2, env=env)
    server.start()
    t0 = time.time()
    accepted: list[str] = []
    stop = asyncio.Event()
    try:
        streamer = asyncio.create_task(_singles(server.url, receiver, accepted, stop))
        async with aiohttp.ClientSession() as http:
            recipients = [{"to": f"+7965{i:07d}"} for i in range(BULK)]
            r = await http.post(
                server.url + "/api/v1/messages/bulk",
                json={"text": "bulk", "recipients": recipients},
                headers={"Authorization": "Bearer crash-token"},
            )
            assert r.status == 202
            bulk = await r.json()
            assert bulk["accepted"] == BULK
        # kill once the connector has some but not all of them
        deadline = time.time() + 60
        while query(db, "SELECT count(*) FROM connector_log")[0][0] < 2000:
            assert time.time() < deadline
            await asyncio.sleep(0.05)
        t_kill = time.time()
        server.kill9()
        handed = query(db, "SELECT count(*) FROM connector_log")[0][0]
        assert handed < BULK + len(accepted), "killed too late to test anything"
        await asyncio.sleep(0.3)
        server.start()
        await asyncio.sleep(0.5)
        stop.set()
        await streamer
        t_restart = time.time()
        # every accepted message reaches a final status
        wanted = set(bulk["message_ids"]) | set(accepted)
        deadline = time.time() + 120
        while True:
            open_count = query(
                db,
                "SELECT count(*) FROM messages WHERE status NOT IN ('delivered','undelivered','expired','rejected','cancelled')",
            )[0][0]
            if open_count == 0:
                break
            assert time.time() < deadline, f"{open_count} messages still open"
            await asyncio.sleep(0.2)
        t_final = time.time()
        print(
            f"kill after {t_kill - t0:.1f}s, restart {t_restart - t_kill:.1f}s, all final {t_final - t_restart:.1f}s"
        )
        stored = {row[0] for row in query(db, "SELECT id FROM messages")}
        assert wanted <= stored, f"{len(wanted - stored)} accepted messages lost"
        # sent to the connector exactly once each
        dupes = query(
            db,
            "SELECT message_id, count(*) FROM connector_log GROUP BY message_id HAVING count(*) > 1",
        )
        assert dupes == []
        assert query(db, "SELECT count(*) FROM connector_log")[0][0] == len(stored)
        # every callback delivered (at least once, by event id), none given up
        deadline = time.time() + 60
        while query(db, "SELECT count(*) FROM outbox WHERE state != 'done'")[0][0]:
            assert time.time() < deadline, query(  # why: tries, and when each is due or leased
                db,
                "SELECT state, attempts, last_error, next_at - (julianday('now') - 2440587.5) * 86400,"
                " lease_until - (julianday('now') - 2440587.5) * 86400 FROM outbox WHERE state != 'done' LIMIT 10",
            )
            await asyncio.sleep(0.2)
        owed = {row[0] for row in query(db, "SELECT event_id FROM outbox")}
        got = {r.headers["X-Smsgate-Event-Id"] for r in receiver.requests[50:]}
        assert owed <= got
        assert len(owed) >= 2 * len(accepted)  # submitted + delivered for every single
        # the engine process ran on uvloop, as the workers do (not on plain asyncio)
        assert "engine running (event loop: uvloop)" in server.log.read_text()
    finally:
        stop.set()
        server.stop()
