"""Whole-request refusals: {"error": text} with HTTP 200 (the seed lists these texts under
"Error text for response status 200") and the seed's exact texts; 413 and 503 apart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
import pytest

from smsgate.dialects.mysmpp import errors
from smsgate.store.base import StoreUnavailable
from tests.support.servers import Gateway

from .conftest import MAX_BODY, Provision, post_json, post_xml

SEND = {
    "message": [{"type_send_1": "sms", "sender": "ACME", "text": "hi", "phones": ["79650000001"]}]
}


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"login": "acme", "password": "acme-pw", "message": [',
        b'{"login": "acme", "password": "acme-pw", "message": "text"}',  # wrong type
        b'{"login": "acme", "password": "acme-pw", "message": [{"phones": [[1]]}]}',
        b'{"login": "acme", "password": "acme-pw", "message": [{"text": {"a": 1}}]}',
        b'{"login": "acme", "password": "acme-pw", "id_sms": [1.5]}',
        b'{"login": ["acme"], "password": "acme-pw"}',
        b"[]",
        b"\xff\xfe",
        b'"just a string"',
    ],
)
async def test_malformed_json(
    http: aiohttp.ClientSession, provision: Provision, raw: bytes
) -> None:
    await provision()
    status, answer = await post_json(http, "/json", raw)
    assert (status, answer) == (200, {"error": "Incorrect JSON document format"})


async def test_missing_post_data(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    for path in ("/json", "/json/state.php", "/json/balance.php"):
        status, answer = await post_json(http, path, b"")
        assert (status, answer) == (200, {"error": "POST data is missing"})


@pytest.mark.parametrize(
    "auth",
    [
        {"login": "acme", "password": "wrong"},
        {"login": "nobody", "password": "acme-pw"},
        {"token": "wrong-token"},
        {"login": "acme"},
        {},
        {"login": "", "password": "", "token": ""},
    ],
)
async def test_bad_credentials(
    http: aiohttp.ClientSession, provision: Provision, auth: dict[str, str]
) -> None:
    await provision()
    status, answer = await post_json(http, "/json", {**auth, **SEND})
    assert (status, answer) == (200, {"error": "Incorrect login or password"})


async def test_token_or_login_authenticates(
    http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision()
    for auth in (
        {"token": "acme-token"},
        {"login": "acme", "password": "acme-pw"},
        {"login": "acme", "password": "acme-pw", "token": "stale-token"},
    ):
        status, answer = await post_json(http, "/json", {**auth, **SEND})
        assert status == 200, answer
        assert answer["information"][0]["state"] == "send"


async def test_other_accounts_credentials_do_not_cross(
    http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision("acme")
    await provision("beta")
    status, answer = await post_json(http, "/json", {"login": "acme", "password": "beta-pw"})
    assert (status, answer) == (200, {"error": "Incorrect login or password"})


async def test_ip_allowlist(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(ip_allowlist=["10.0.0.0/8"])
    status, answer = await post_json(http, "/json", {"token": "acme-token", **SEND})
    assert (status, answer) == (200, {"error": "Incorrect login or password"})


async def test_body_limit_boundary(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision()
    head = b'{"login": "acme", "password": "acme-pw", "pad": "'
    tail = b'"}'
    exact = head + b"x" * (MAX_BODY - len(head) - len(tail)) + tail
    assert len(exact) == MAX_BODY
    status, answer = await post_json(http, "/json", exact)
    assert status == 200 and "money" in answer  # a (padded) balance request
    status, answer = await post_json(http, "/json", exact[:-2] + b'x"}')
    assert (status, answer) == (413, {"error": "Incorrect JSON document format"})


async def test_get_with_query_string(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    async with http.get("/json/balance.php?login=acme&password=acme-pw") as r:
        assert r.status == 200
        assert (await r.json(content_type=None))["currency"] == "RUR"
    async with http.get("/json/balance.php/?login=acme&password=nope") as r:
        assert r.status == 200
        assert await r.json(content_type=None) == {"error": "Incorrect login or password"}


async def test_too_many_recipients_is_a_format_error(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision()
    gateway.app.app.state.gateway.limits.max_recipients = 3
    phones = [f"7965000000{i}" for i in range(4)]
    request = {
        "login": "acme",
        "password": "acme-pw",
        "message": [{**SEND["message"][0], "phones": phones}],
    }
    status, answer = await post_json(http, "/json", request)
    assert (status, answer) == (200, {"error": "Incorrect JSON document format"})
    request["message"][0]["phones"] = phones[:3]  # type: ignore[index]
    status, answer = await post_json(http, "/json", request)
    assert status == 200 and len(answer["information"]) == 3


async def test_form_bodies(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = await post_json(
        http, "/json/balance.php", b"login=acme&password=acme-pw", form
    )
    assert status == 200 and answer["currency"] == "RUR"
    broken = {"Content-Type": "multipart/form-data; boundary=xyz"}
    status, answer = await post_json(http, "/json/balance.php", b"--xyz\r\ngarbage", broken)
    assert status == 200 and answer["error"] in (
        "Incorrect JSON document format",
        "Incorrect login or password",
    )


async def test_store_unavailable_is_503_in_json_and_xml(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    provision: Provision,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    await provision()
    monkeypatch.setattr(gateway.app.app.state.gateway, "balance", down)
    assert errors.UNAVAILABLE == "Service temporarily unavailable"
    status, answer = await post_json(http, "/json", {"login": "acme", "password": "acme-pw"})
    assert (status, answer) == (503, {"error": errors.UNAVAILABLE})
    security = '<security><login value="acme" /><password value="acme-pw" /></security>'
    status, content_type, text = await post_xml(
        http, "/xml/balance.php", f"<request>{security}</request>"
    )
    assert (status, content_type) == (503, "text/xml; charset=utf-8")
    assert ET.fromstring(text.encode()).findtext("error") == errors.UNAVAILABLE


# Malformed input that once answered HTTP 500 (issue 19): each gets mysmpp's own error.
DEEP = 1000


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b'{"login": "acme", "password": "acme-pw", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"login": "acme", "password": "acme-pw", "message": [{"phones": ['
        + b'{"x":' * DEEP
        + b"1"
        + b"}" * DEEP
        + b"]}]}",
        b"[" * DEEP + b"]" * DEEP,
    ],
)
async def test_deeply_nested_json(
    http: aiohttp.ClientSession, provision: Provision, raw: bytes
) -> None:
    await provision()
    for path in ("/json", "/json/state.php", "/json/balance.php"):
        status, answer = await post_json(http, path, raw)
        assert (status, answer) == (200, {"error": "Incorrect JSON document format"}), path


@pytest.mark.parametrize("big", [2**63, 2**63 + 1, 2**64, 10**30])
async def test_huge_numeric_id_sms(
    http: aiohttp.ClientSession, provision: Provision, big: int
) -> None:
    await provision()
    for path in ("/json/state.php", "/json"):
        request = b'{"login": "acme", "password": "acme-pw", "id_sms": %d}' % big
        status, answer = await post_json(http, path, request)
        assert (status, answer) == (200, [{"id_sms": big, "error": "SMS not found"}]), path
    status, answer = await post_json(
        http, "/json/state.php", {"login": "acme", "password": "acme-pw", "id_sms": [2**63 - 1]}
    )
    assert (status, answer) == (200, [{"id_sms": 2**63 - 1, "error": "SMS not found"}])


@pytest.mark.parametrize("encoding", ["x-bogus", "utf-16", "", "utf-8\x00"])
async def test_xml_with_an_unknown_encoding(
    http: aiohttp.ClientSession, provision: Provision, encoding: str
) -> None:
    await provision()
    security = '<security><login value="acme" /><password value="acme-pw" /></security>'
    body = f'<?xml version="1.0" encoding="{encoding}"?><request>{security}</request>'
    for path in ("/xml/", "/xml/state.php", "/xml/balance.php", "/xml/originator.php"):
        status, content_type, text = await post_xml(http, path, body.encode())
        assert (status, content_type) == (200, "text/xml; charset=utf-8"), path
        assert ET.fromstring(text.encode()).findtext("error") == "Incorrect XML document format"


@pytest.mark.parametrize(
    "path", ["/json/send.php", "/json/originator.php", "/json/a/b", "/json/a%0Ab", "/json/"]
)
async def test_other_json_paths_answer_json(
    http: aiohttp.ClientSession, provision: Provision, path: str
) -> None:
    await provision()
    for method in ("POST", "GET", "DELETE"):
        async with http.request(method, path, data=b'{"token": "acme-token"}') as r:
            assert r.headers["Content-Type"].startswith("application/json"), (method, path)
            answer = await r.json(content_type=None)
        if path == "/json/":  # served: a balance request
            assert r.status == 200 and "money" in answer
        else:
            assert (r.status, answer) == (404, {"error": "Unsupported request"})
