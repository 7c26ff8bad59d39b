"""The console's routes page over HTTP on a real server, on both backends: the table and the
upstreams as configured, no credential of an upstream in it, and its "test a number" form
answered (as htmx posts it) with what `smsgate routes test` prints."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from smsgate.core.routing import parse_table
from tests.admin.pages_support import log_in, make_admin, session
from tests.admin.test_api_routes import NOON_UTC, SECRETS, TABLE, UPSTREAMS, cli
from tests.support import servers
from tests.support.backends import both_backends
from tests.support.servers import Gateway, start_gateway


@pytest.fixture
async def node(database_url: str) -> AsyncIterator[Gateway]:
    gateway = await start_gateway(servers.test_config(database_url, upstreams=UPSTREAMS))
    try:
        yield gateway
    finally:
        await gateway.stop()


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


async def test_a_stranger_is_sent_to_the_login(node: Gateway) -> None:
    async with session() as http:
        for method in ("GET", "POST"):
            async with http.request(
                method,
                f"{node.url}/admin/routes" + ("/test" if method == "POST" else ""),
                allow_redirects=False,
            ) as r:
                assert r.status == 303 and r.headers["location"].startswith("/admin/login")


@both_backends
async def test_the_page_shows_the_table_and_upstreams_without_secrets(node: Gateway) -> None:
    await make_admin(node)
    async with session() as http:
        await log_in(http, node)
        async with http.get(f"{node.url}/admin/routes") as r:
            empty = await r.text()
        assert r.status == 200 and "No rule." in empty and "No route." in empty
        async with http.put(
            f"{node.url}/admin/api/routes",
            json=TABLE,
            headers={"X-CSRF-Token": await api_token(http, node.url)},
        ) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{node.url}/admin/routes") as r:
            page = await r.text()
    assert '<a href="/admin/routes" aria-current="page">Routes</a>' in page
    rules = text_of(page.split('id="rules"')[1].split("</table>")[0])
    assert "1 kz prefix +77 kz 2 tj country TJ tj 3 night hours 22:00-06:00 (UTC+05:00) cheap" in (
        rules
    )
    routes = text_of(page.split('id="route-list"')[1].split("</table>")[0])
    assert "kz priority none kcell (0, 1), simulator (1, 1)" in routes
    assert "cheap least_cost none kcell (0, 1), oson (0, 1)" in routes
    prices = text_of(page.split('id="prices"')[1].split("</table>")[0])
    assert "kcell any number 0.031 oson country RU 0.029" in prices
    upstreams = text_of(page.split('id="upstreams"')[1].split("</table>")[0])
    assert "kcell smsgw2 127.0.0.1:9 closed kz (0, 1), cheap (0, 1)" in upstreams
    assert "oson osonsms 127.0.0.1:9 closed tj (0, 1), cheap (0, 1)" in upstreams
    for secret in SECRETS:
        assert secret not in page


async def api_token(http: aiohttp.ClientSession, base: str) -> str:
    """The session's CSRF token as the admin API gives it (`GET /admin/api/me`)."""
    async with http.get(f"{base}/admin/api/me") as r:
        token: str = (await r.json())["csrf_token"]
        return token


@both_backends
async def test_the_form_answers_what_the_command_line_prints(node: Gateway) -> None:
    await make_admin(node, "rita", role="readonly")  # testing a number is a read
    await node.store.routing_apply(parse_table(TABLE))
    async with session() as http:
        await log_in(http, node, "rita")
        for phone, at in (("+7 701 123 45 67", NOON_UTC), ("79161234567", 1700000000.0)):
            form = {"phone": phone, "at": str(int(at)), "dialect": ""}
            async with http.post(
                f"{node.url}/admin/routes/test", data=form, headers={"HX-Request": "true"}
            ) as r:
                assert r.status == 200
                fragment = await r.text()
            assert "<html" not in fragment  # a fragment for htmx to swap in
            printed = await asyncio.to_thread(
                cli, node, "routes", "test", phone, "--at", str(int(at))
            )
            hops = [text_of(li) for li in re.findall(r"<li>(.*?)</li>", fragment, re.S)]
            assert hops == [line.split(". ", 1)[1] for line in printed[3:]]
            rule = printed[1].removeprefix("rule: ").split(":")[0]
            assert f"Rule {rule}" in text_of(fragment)
        for form, reason in (
            ({"phone": "hello"}, "phone number 'hello' is not a number"),
            ({"phone": "77011234567", "account": "nobody"}, "no account 'nobody'"),
            ({"phone": "77011234567", "at": "soon"}, "at is not a Unix time"),
            ({"phone": "77011234567", "at": "inf"}, "at is not a Unix time"),
        ):
            async with http.post(f"{node.url}/admin/routes/test", data=form) as r:
                assert r.status == 200
                whole = await r.text()  # without JavaScript: the whole page, answer in it
            assert "<html" in whole and 'id="rules"' in whole
            answer = whole.split('id="route-test"')[1].split("</div>")[0]
            assert reason in text_of(answer), (form, answer)
