"""The console's pages over HTTP on a real server: who may see them, what they show, what they
never show (secrets), and bad input answered without a 500."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from smsgate.connectors.simulator import SimulatorConfig
from smsgate.core.models import MoMessage
from smsgate.core.status import Status
from tests.admin.pages_support import PASSWORD, log_in, make_admin, send, session
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account, start_gateway
from tests.support.servers import test_config as gateway_config

PAGES = ["/", "/messages", "/accounts", "/incoming", "/audit", "/events"]
SECRETS = ["acme-pw", "acme-token", "acme-salt", "hook-secret", "sig-key"]


async def delivered(gateway: Gateway, account_id: int, message_id: str) -> None:
    async def done() -> bool:
        m = await gateway.store.get_message(account_id, message_id)
        return m is not None and m.status == Status.DELIVERED

    await gateway.wait_for(done)


async def test_every_page_sends_a_stranger_to_the_login(gateway: Gateway) -> None:
    async with session() as http:
        for path in PAGES:
            async with http.get(f"{gateway.url}/admin{path}", allow_redirects=False) as r:
                assert r.status == 303, path
                assert r.headers["location"] == f"/admin/login?next=/admin{path}"


async def test_login_needs_its_form_token_and_the_right_password(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    await make_admin(gateway)
    async with session() as http:
        data = {"username": "root", "password": PASSWORD, "csrf_token": "forged"}
        async with http.post(f"{gateway.url}/admin/login", data=data, allow_redirects=False) as r:
            assert r.status == 403  # no login form was served to this client
        assert "console login form refused from 127.0.0.1" in caplog.text
        async with http.get(f"{gateway.url}/admin/login") as r:
            page = await r.text()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        data.update(csrf_token=token, password="wrong")
        async with http.post(f"{gateway.url}/admin/login", data=data, allow_redirects=False) as r:
            assert r.status == 401 and "Wrong user name or password" in await r.text()
        data.update(password=PASSWORD, next="https://evil.example/")
        async with http.post(f"{gateway.url}/admin/login", data=data, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["location"] == "/admin/"  # never elsewhere
            cookie = r.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie


async def test_logout_needs_the_session_csrf_token(gateway: Gateway) -> None:
    await make_admin(gateway)
    async with session() as http:
        token = await log_in(http, gateway)
        url = f"{gateway.url}/admin/logout"
        async with http.post(url, data={"csrf_token": "x"}, allow_redirects=False) as r:
            assert r.status == 403
        async with http.post(url, data={"csrf_token": token}, allow_redirects=False) as r:
            assert r.status == 303
        async with http.get(f"{gateway.url}/admin/", allow_redirects=False) as r:
            assert r.status == 303  # the session is over


async def test_search_and_timeline_show_the_message_and_only_the_callback_host(
    gateway: Gateway,
) -> None:
    hook = "http://127.0.0.1:9/cb/hook-secret?key=sig-key"
    [acme] = await gateway.provision(account("acme", callback_urls={"native": hook}))
    await gateway.provision(account("beta"))
    await make_admin(gateway)
    mine = await send(gateway, "acme-token", to="79651230001", text="Your code is 4321")
    secret = await send(gateway, "acme-token", to="79651230002", text="PIN 9999", confidential=True)
    await send(gateway, "beta-token", to="79651230001", text="beta's")
    await delivered(gateway, acme, str(mine["id"]))
    async with session() as http:
        await log_in(http, gateway)
        async with http.get(f"{gateway.url}/admin/messages?phone=%2B79651230001") as r:
            page = await r.text()
            assert r.status == 200 and page.count("/admin/messages/01") == 2  # both accounts'
        query = f"phone=79651230001&account={acme}"
        async with http.get(f"{gateway.url}/admin/messages?{query}") as r:
            page = await r.text()
            assert str(mine["id"]) in page and page.count("/admin/messages/01") == 1
        async with http.get(f"{gateway.url}/admin/messages/{mine['id']}") as r:
            page = await r.text()
        assert "Your code is 4321" in page and 'id="timeline"' in page
        assert '<span class="status delivered">delivered</span>' in page
        assert "127.0.0.1:9" in page  # the callback's host, nothing more of its URL
        assert not [s for s in SECRETS if s in page]
        async with http.get(f"{gateway.url}/admin/messages/{secret['id']}") as r:
            page = await r.text()
        assert "PIN 9999" not in page and "Confidential" in page
        async with http.get(f"{gateway.url}/admin/messages?phone=79651230002") as r:
            assert "PIN 9999" not in await r.text()


async def test_bad_search_input_is_answered_on_the_page_not_with_a_500(gateway: Gateway) -> None:
    await make_admin(gateway)
    async with session() as http:
        await log_in(http, gateway)
        for query in ("account=abc", "since=yesterday", "status=lost", "until=2026-13-01T00:00"):
            async with http.get(f"{gateway.url}/admin/messages?{query}") as r:
                assert r.status == 400, query
                assert 'role="alert"' in await r.text()
        for path in ("/messages/nope", "/jobs/nope", "/accounts/99", "/accounts/x"):
            async with http.get(f"{gateway.url}/admin{path}") as r:
                assert r.status == 404, path
        for query in ("before=-1", "before=99999999999999999999", "tz=abc&since=2026-01-01T00:00"):
            async with http.get(f"{gateway.url}/admin/messages?{query}") as r:
                assert r.status == 200, query


async def test_time_range_is_read_in_the_operators_zone(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    await make_admin(gateway)
    sent = await send(gateway, "acme-token", to="79651230003", text="hello")
    stored = await gateway.store.get_message(acme, str(sent["id"]))
    assert stored is not None
    moscow = datetime.fromtimestamp(stored.created_at, UTC) + timedelta(hours=3)
    before = (moscow - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    async with session() as http:
        await log_in(http, gateway)
        # Moscow's offset (JavaScript's getTimezoneOffset: -180): found from a minute before.
        async with http.get(f"{gateway.url}/admin/messages?since={before}&tz=-180") as r:
            assert str(sent["id"]) in await r.text()
        # Read as UTC, that minute is three hours later than the message.
        async with http.get(f"{gateway.url}/admin/messages?since={before}&tz=0") as r:
            assert str(sent["id"]) not in await r.text()


async def test_account_page_shows_no_secret_and_read_only_gets_no_forms(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    await make_admin(gateway)
    await make_admin(gateway, "viewer", "readonly")
    async with session() as http:
        await log_in(http, gateway)
        async with http.get(f"{gateway.url}/admin/accounts/{acme}") as r:
            page = await r.text()
        assert r.status == 200 and 'id="credentials"' in page
        assert not [s for s in SECRETS if s in page]
        assert "/credentials/" in page and "/ledger" in page  # revoke, rotate and top-up forms
        assert 'name="csrf-token" content="' in page
    async with session() as http:
        await log_in(http, gateway, "viewer")
        async with http.get(f"{gateway.url}/admin/accounts/{acme}") as r:
            page = await r.text()
        assert "data-api=" not in page and "Revoke" not in page


async def test_the_overview_streams_its_figures(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    await make_admin(gateway)
    sent = await send(gateway, "acme-token", to="79651230004", text="hello")
    await delivered(gateway, acme, str(sent["id"]))
    async with session() as http:
        await log_in(http, gateway)
        async with http.get(f"{gateway.url}/admin/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            seen = b""
            while b"event: series" not in seen:
                seen += await asyncio.wait_for(r.content.readany(), 5)
    text = seen.decode()
    assert "event: figures" in text and 'id="count-delivered">1<' in text


async def test_api_session_cookie_opens_the_pages(gateway: Gateway) -> None:
    """One session for both: the admin API's login opens the pages too."""
    await make_admin(gateway)
    async with session() as http:
        body = {"username": "root", "password": PASSWORD}
        async with http.post(f"{gateway.url}/admin/api/login", json=body) as r:
            assert r.status == 200
        async with http.get(f"{gateway.url}/admin/accounts", allow_redirects=False) as r:
            assert r.status == 200


async def test_static_assets_are_served_from_the_package(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        for path in (
            "vendor/htmx/htmx.min.js",
            "vendor/htmx-ext-sse/sse.min.js",
            "vendor/uplot/uPlot.iife.min.js",
            "vendor/uplot/LICENSE",
            "console.js",
        ):
            async with http.get(f"{gateway.url}/admin/static/{path}") as r:
                assert r.status == 200 and len(await r.read()) > 100, path


async def test_job_page_shows_progress_and_the_recipients_the_carrier_rejected(
    tmp_path: Path,
) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/s.db",
        simulator=SimulatorConfig(dr_delay=0.01, reject_prefixes=["7965999"]),
    )
    gateway = await start_gateway(config)
    try:
        [acme] = await gateway.provision(account("acme"))
        await make_admin(gateway)
        body = {
            "text": "Hi",
            "recipients": [{"to": "79651000001"}, {"to": "79651000002"}, {"to": "79659990001"}],
        }
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bearer acme-token"}
            url = f"{gateway.url}/api/v1/messages/bulk"
            async with http.post(url, json=body, headers=headers) as r:
                answer = await r.json()
        job_id = answer["job_id"]

        async def settled() -> bool:
            counts = await gateway.store.get_job(acme, job_id)
            return counts is not None and set(counts.by_status) == {"delivered", "rejected"}

        await gateway.wait_for(settled)
        async with session() as http:
            await log_in(http, gateway)
            async with http.get(f"{gateway.url}/admin/jobs/{job_id}") as r:
                page = await r.text()
        assert r.status == 200
        assert re.search(r">delivered</a></td><td>2<", page), page
        assert re.search(r">rejected</a></td><td>1<", page)
        assert "79659990001" in page and "79651000001" not in page  # only the rejected one
        assert "3 in the request, 3 stored" in page
    finally:
        await gateway.stop()


async def test_incoming_sms_of_every_account_or_one(gateway: Gateway) -> None:
    acme, beta = await gateway.provision(account("acme"), account("beta"))
    await make_admin(gateway)
    mos = [
        MoMessage(
            id=f"mo-{n}",
            account_id=a,
            phone="79650000009",
            to="7100",
            text=f"STOP {n}",
            received_at=time.time(),
        )
        for n, a in ((1, acme), (2, beta))
    ]
    await gateway.store.store_mo(mos, lambda message, event, urls: [])
    async with session() as http:
        await log_in(http, gateway)
        async with http.get(f"{gateway.url}/admin/incoming") as r:
            page = await r.text()
        assert page.index("STOP 2") < page.index("STOP 1")  # newest first
        async with http.get(f"{gateway.url}/admin/incoming?account={acme}") as r:
            page = await r.text()
        assert "STOP 1" in page and "STOP 2" not in page


ODD = ["\x00", "%00", "' OR 1=1 --", "9" * 40, "-1", "1e9", "\u202e", "x" * 5000, "<script>"]


@both_backends
async def test_odd_input_in_every_page_is_never_a_server_error(gateway: Gateway) -> None:
    await make_admin(gateway)
    keys = ("id", "phone", "client_ref", "account", "job", "status", "dialect", "since", "tz")
    async with session() as http:
        await log_in(http, gateway)
        for odd in ODD:
            quoted = quote(odd, safe="")
            paths = [f"/messages?{k}={quoted}" for k in keys]
            paths += [f"/messages?before={quoted}", f"/messages/{quoted}", f"/jobs/{quoted}"]
            paths += [f"/accounts/{quoted}", f"/incoming?account={quoted}&before={quoted}"]
            paths += [f"/audit?target={quoted}&before={quoted}"]
            for path in paths:
                async with http.get(f"{gateway.url}/admin{path}") as r:
                    page = await r.text()
                    assert r.status in (200, 400, 404), (path, r.status, page[:300])
                    assert "<script>" not in page.split("</head>")[1].replace(
                        '<script type="application/json"', ""
                    ), path
