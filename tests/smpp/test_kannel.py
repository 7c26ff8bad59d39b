"""Debian's Kannel (bearerbox + smsbox) as an ESME towards smsgate's SMPP server: a message sent
through Kannel's HTTP sendsms is accepted by smsgate, and its delivery report comes back to
Kannel's dlr-url (a real aiohttp receiver)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import aiohttp

from smsgate.core.status import Status
from tests.smpp.conftest import smpp_port
from tests.smpp.peers import start_kannel
from tests.support.servers import Gateway, Receiver, account


async def test_kannel_sendsms_through_smsgate(
    tmp_path: Path, smsc: Gateway, receiver: Receiver
) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    kannel = await start_kannel(tmp_path, smpp_port(smsc), user="acme", password="acme-pw")
    try:
        server = smsc.engine.smpp_server
        assert server is not None

        async def kannel_bound() -> bool:
            link = server.links.get(acme_id)
            return link is not None and bool(link.receivers())

        await smsc.wait_for(kannel_bound, timeout=20)
        texts = ["Hello from Kannel", "Привет из Kannel"]
        async with aiohttp.ClientSession() as http:
            for n, text in enumerate(texts):
                dlr_url = f"{receiver.url}/dlr?n={n}&type=%d&smsc=%i"
                url = (
                    f"{kannel.sendsms}?username=tester&password=testpw&from=ACME"
                    f"&to=79001234567&text={quote(text)}&charset=UTF-8&coding={2 if n else 0}"
                    f"&dlr-mask=3&dlr-url={quote(dlr_url, safe='')}"
                )
                async with http.get(url) as r:
                    body = await r.text()
                    assert r.status == 202, body

        async def stored() -> bool:
            messages = [await smsc.store.message_by_seq(acme_id, s) for s in (1, 2)]
            return all(m is not None and m.status is Status.DELIVERED for m in messages)

        await smsc.wait_for(stored, timeout=20)
        messages = [await smsc.store.message_by_seq(acme_id, s) for s in (1, 2)]
        assert sorted(m.text for m in messages if m) == sorted(texts)
        reports = await receiver.wait_count(2, timeout=20)
        by_n = {r.query["n"]: r.query for r in reports}
        assert by_n["0"]["type"] == "1" and by_n["1"]["type"] == "1"  # 1: delivered
        assert by_n["0"]["smsc"] == "smsgate"
        await asyncio.sleep(0.3)
        assert not await smsc.store.outbox_items(acme_id, "pending")
    finally:
        await kannel.stop()
