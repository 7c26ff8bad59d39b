"""kill -9 of smsgate (node A, a real process) while messages are in flight to node B, a real
smsgate, over B's mysmpp dialect: the at-least-once edge with a real provider.

mysmpp has no look-up by our reference (its status call knows only the provider's `id_sms`),
so at A's restart every message whose outcome the kill left unknown is sent again under the
same `client_id_sms`; the provider (B) then answers the earlier `id_sms` and sends nothing
(the seed). Counted: 0 lost (every message delivered at A, B holding each phone), the
duplicates B saw (0: it deduplicates), and how many outcomes the kill left unknown (B had
taken them, A had not recorded it): printed, as the issue asks. (The same with a fake MsgHub,
which A asks by extra_id: test_upstream_kill.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from smsgate.store.base import MessageFilter
from tests.support.processes import Server, cli, provision, query
from tests.support.servers import account, free_port, start_gateway
from tests.support.servers import test_config as gateway_config

pytestmark = pytest.mark.slow
COUNT = 600
TAKEN = "('submitted','delivered','undelivered')"
OPEN = "('accepted','scheduled','queued','submitted')"


def configure(tmp: Path, b_url: str) -> dict[str, str]:
    config = tmp / "a.toml"
    config.write_text(
        '[callbacks]\nallow_networks = ["127.0.0.0/8"]\n\n'
        '[routing]\ndefault_route = "b"\n\n'
        "[[upstreams]]\n"
        f'name = "b"\nkind = "mysmpp"\nurl = "{b_url}"\nlogin = "acme"\npassword = "acme-pw"\n'
        "timeout = 5.0\nbatch = 10\nconcurrency = 2\nstatus_poll = 0.2\n"
        'allow_networks = ["127.0.0.0/8"]\n'
    )
    routes = tmp / "routes.toml"
    routes.write_text('[[routes]]\nname = "b"\nconnectors = [{connector = "b"}]\n')
    return {"SMSGATE_CONFIG": str(config), "ROUTES": str(routes)}


async def test_kill9_mid_chain_loses_nothing_and_b_sends_nothing_twice(tmp_path: Path) -> None:
    b = await start_gateway(gateway_config(f"sqlite:///{tmp_path}/b.db"))
    [acme] = await b.provision(account("acme", balance="10000"))
    db = str(tmp_path / "a.db")
    url = f"sqlite:///{db}"
    env = configure(tmp_path, b.url)
    routes = env.pop("ROUTES")
    token = [{"dialect": "native", "kind": "token", "secret": "shop-token"}]
    shop = {"name": "shop", "balance": "1000", "senders": ["ACME"], "credentials": token}
    await asyncio.to_thread(provision, url, [shop], tmp_path)
    await asyncio.to_thread(cli, "--database", url, "routes", "import", routes, env=env)
    server = Server(url, free_port(), tmp_path / "a.log", env=env)
    await asyncio.to_thread(server.start)  # from a thread: B answers on this loop meanwhile

    async def at_b() -> list[str]:
        found = await b.store.list_messages(acme, MessageFilter(), limit=10 * COUNT)
        return [m.phone for m in found]

    try:
        async with aiohttp.ClientSession() as http:
            recipients = [{"to": f"+7965{i:07d}"} for i in range(COUNT)]
            r = await http.post(
                server.url + "/api/v1/messages/bulk",
                json={"from": "ACME", "text": "kill", "recipients": recipients},
                headers={"Authorization": "Bearer shop-token"},
            )
            assert r.status == 202, (await r.text())[:300]
            ids = set((await r.json())["message_ids"])
        deadline = time.monotonic() + 60
        while len(await at_b()) < COUNT // 4:  # some taken, most not yet
            assert time.monotonic() < deadline, "B got nothing"
            await asyncio.sleep(0.005)
        server.kill9()
        b_at_kill = len(await at_b())
        recorded = query(db, f"SELECT count(*) FROM messages WHERE status IN {TAKEN}")[0][0]
        assert b_at_kill < COUNT, "killed too late to test anything"
        await asyncio.to_thread(server.start)
        deadline = time.monotonic() + 90
        while query(db, f"SELECT count(*) FROM messages WHERE status IN {OPEN}")[0][0]:
            assert time.monotonic() < deadline, "messages still open after the restart"
            await asyncio.sleep(0.2)
        phones_at_b = Counter(await at_b())
    finally:
        server.stop()
        await b.stop()
    rows = query(db, "SELECT id, status, phone FROM messages")
    assert {row[0] for row in rows} == ids
    assert Counter(row[1] for row in rows) == {"delivered": COUNT}  # none lost
    twice = sorted(phone for phone, n in phones_at_b.items() if n > 1)
    assert set(phones_at_b) == {row[2] for row in rows}, "every message reached B"
    assert twice == [], f"{len(twice)} messages sent twice"
    print(json.dumps({"messages": COUNT, "at_b_at_kill": b_at_kill,
                      "recorded_at_a_at_kill": recorded, "unknown_at_kill": b_at_kill - recorded,
                      "sent_twice": len(twice)}))  # fmt: skip
