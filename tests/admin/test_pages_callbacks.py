"""A message's callback attempts on its console page and in the admin API
(`GET /admin/api/messages/{id}/callbacks`), over HTTP on a real server with a real callback
receiver: each attempt with its host, answer or error and time; never the URL's secrets."""

from __future__ import annotations

import base64
import re

import aiohttp

from smsgate.core.status import Status
from tests.admin.pages_support import PASSWORD, log_in, make_admin, send, session
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

SECRETS = ("hook-secret", "sig-key")
VIEWER = {"Authorization": "Basic " + base64.b64encode(f"viewer:{PASSWORD}".encode()).decode()}


async def failed_once_then_delivered(gateway: Gateway, receiver: Receiver) -> tuple[int, str]:
    """acme's message whose callback got a 500, then a 200 (its URL holds secrets)."""
    [acme] = await gateway.provision(account("acme"))
    answers = iter([(500, b"busy"), (200, b"OK")])
    receiver.respond = lambda req, n: next(answers, (200, b"OK"))
    hook = f"{receiver.url}/cb/hook-secret?key=sig-key"
    sent = await send(
        gateway, "acme-token", to="79651230001", text="hi", callback_url=hook,
        callback_events="final",
    )  # fmt: skip
    message_id = str(sent["id"])

    async def settled() -> bool:
        m = await gateway.store.get_message(acme, message_id)
        tried = await gateway.store.callback_attempts(message_id)
        return m is not None and m.status == Status.DELIVERED and len(tried) == 2

    await gateway.wait_for(settled)
    return acme, message_id


@both_backends
async def test_the_message_page_lists_every_attempt_with_the_host_only(
    gateway: Gateway, receiver: Receiver
) -> None:
    _, message_id = await failed_once_then_delivered(gateway, receiver)
    await make_admin(gateway)
    async with session() as http:
        await log_in(http, gateway)
        async with http.get(f"{gateway.url}/admin/messages/{message_id}") as r:
            page = await r.text()
    assert r.status == 200
    table = page.split('<table id="attempts">')[1].split("</table>")[0]
    rows = re.findall(r"<tr class=\"(\w+)\">(.*?)</tr>", table, re.S)
    assert [outcome for outcome, _ in rows] == ["retry", "done"]
    first, second = (cells for _, cells in rows)
    host = receiver.url.removeprefix("http://")
    assert "HTTP 500" in first and "tried again" in first and host in first
    assert "HTTP 200" in second and "delivered" in second and " ms</td>" in second
    assert '<a href="#ev-' in first  # linked to its status event in the timeline
    assert not [s for s in SECRETS if s in page]


@both_backends
async def test_the_admin_api_gives_the_callbacks_and_their_attempts(
    gateway: Gateway, receiver: Receiver
) -> None:
    acme, message_id = await failed_once_then_delivered(gateway, receiver)
    await make_admin(gateway)
    await make_admin(gateway, "viewer", "readonly")
    url = f"{gateway.url}/admin/api/messages/{message_id}/callbacks"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 401  # no session, no Basic
        async with http.get(url, headers=VIEWER) as r:
            text = await r.text()
            assert r.status == 200, text
            answer = await r.json()
        missing = f"{gateway.url}/admin/api/messages/{'x' * 300}/callbacks"
        async with http.get(missing, headers=VIEWER) as r:
            assert r.status == 404 and (await r.json())["error"]["code"]
    assert not [s for s in SECRETS if s in text]
    assert (answer["message_id"], answer["account_id"]) == (message_id, acme)
    [callback] = answer["callbacks"]
    host = receiver.url.removeprefix("http://")
    assert (callback["host"], callback["state"], callback["attempts"]) == (host, "done", 2)
    assert callback["last_error"] == "HTTP 500" and callback["next_at"] is None
    tried = answer["attempts"]
    assert [(a["attempt"], a["status"], a["outcome"]) for a in tried] == [
        (1, 500, "retry"),
        (2, 200, "done"),
    ]
    assert all(a["event_id"] == callback["event_id"] and a["host"] == host for a in tried)
    assert all(a["error"] is None and isinstance(a["took_ms"], int) for a in tried)
    assert tried[0]["started_at"] <= tried[1]["started_at"]
