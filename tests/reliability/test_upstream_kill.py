"""kill -9 of smsgate while messages are in flight to an HTTP provider: none is lost, none is
sent twice. The provider (a MsgHub fake from its seed, in this process) takes each request and
answers it slowly, so that the kill lands with requests taken and unanswered, and with messages
claimed and not yet sent. At the restart, the router asks the provider about each by our
reference (MsgHub `extra_id`): those it has are recorded, the others sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.connectors.http.fakes.msghub import FakeMsgHub
from tests.support.processes import Server, cli, provision, query
from tests.support.servers import free_port

pytestmark = pytest.mark.slow
COUNT = 300
FINAL = "('delivered','undelivered','expired','rejected','cancelled')"


def configure(tmp: Path, hub: FakeMsgHub) -> dict[str, str]:
    config = tmp / "smsgate.toml"
    config.write_text(
        '[callbacks]\nallow_networks = ["127.0.0.0/8"]\n\n'
        '[routing]\ndefault_route = "hub"\n\n'
        "[[upstreams]]\n"
        f'name = "hub"\nkind = "msghub"\nurl = "{hub.api}"\nlogin = "user"\n'
        'password = "pa55-Xq9"\ntimeout = 5.0\nbatch = 10\nconcurrency = 4\n'
        'status_poll = 0.2\nallow_networks = ["127.0.0.0/8"]\n'
    )
    routes = tmp / "routes.toml"
    routes.write_text('[[routes]]\nname = "hub"\nconnectors = [{connector = "hub"}]\n')
    return {"SMSGATE_CONFIG": str(config), "ROUTES": str(routes)}


async def test_kill9_with_requests_in_flight_loses_and_repeats_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "kill.db")
    url = f"sqlite:///{db}"
    async with FakeMsgHub() as hub:
        hub.fault = "slow"  # every request taken at once, answered 0.4 s later
        hub.slow_delay = 0.4
        env = configure(tmp_path, hub)
        routes = env.pop("ROUTES")
        token = [{"dialect": "native", "kind": "token", "secret": "kill-token"}]
        await asyncio.to_thread(
            provision,
            url,
            [{"name": "kill", "balance": "1000", "senders": ["ACME"], "credentials": token}],
            tmp_path,
        )
        await asyncio.to_thread(cli, "--database", url, "routes", "import", routes, env=env)
        server = Server(url, free_port(), tmp_path / "server.log", env=env)
        # started from a thread: the fake provider answers on this loop meanwhile
        await asyncio.to_thread(server.start)
        try:
            async with aiohttp.ClientSession() as http:
                r = await http.post(
                    server.url + "/api/v1/messages/bulk",
                    json={
                        "from": "ACME",
                        "text": "kill",
                        "recipients": [{"to": f"+7965{i:07d}"} for i in range(COUNT)],
                    },
                    headers={"Authorization": "Bearer kill-token"},
                )
                assert r.status == 202, (await r.text())[:300]
                ids = set((await r.json())["message_ids"])
            deadline = time.monotonic() + 60
            while len(hub.messages) < 60:  # some taken, most not yet
                assert time.monotonic() < deadline, "the provider got nothing"
                await asyncio.sleep(0.01)
            server.kill9()
            taken_at_kill, unanswered = len(hub.messages), len(hub.requests)
            assert taken_at_kill < COUNT, "killed too late to test anything"
            await asyncio.sleep(0.3)
            hub.fault = None
            await asyncio.to_thread(server.start)
            deadline = time.monotonic() + 90
            while query(db, f"SELECT count(*) FROM messages WHERE status NOT IN {FINAL}")[0][0]:
                assert time.monotonic() < deadline, "messages still open after the restart"
                await asyncio.sleep(0.2)
        finally:
            server.stop()
    stored = {row[0] for row in query(db, "SELECT id FROM messages")}
    assert stored == ids
    statuses = Counter(row[0] for row in query(db, "SELECT status FROM messages"))
    assert statuses == {"delivered": COUNT}
    taken = Counter(m["extra_id"] for m in hub.messages.values())
    twice = sorted(k for k, n in taken.items() if n > 1)
    assert set(taken) == ids, "every message reached the provider"
    assert twice == [], f"{len(twice)} messages sent twice"
    print(
        json.dumps(
            {
                "messages": COUNT,
                "taken_at_kill": taken_at_kill,
                "requests_at_kill": unanswered,
                "sent_twice": len(twice),
            }
        )
    )
