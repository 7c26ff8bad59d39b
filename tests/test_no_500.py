"""No request, however malformed, gets a 500 or a traceback from any dialect's endpoint."""

from __future__ import annotations

import random

import aiohttp
import pytest
from starlette.routing import Route

from tests.support.servers import Gateway, account

BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'{"a": ',
    b"\xff\xfe\x00garbage",
    b'{"phone_number": {}, "messages": "x", "recipients": 5, "message": [1], "to": [], "text": null}',
    b'{"login": 1, "password": [], "token": {}, "id_sms": {"a": 1}}',
    b"<?xml version='1.0'?><request><security><login value='x'/></security></request>",
    b"<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]><x>&b;</x>",
    b"login=acme&psw=acme-pw&phones=%ZZ&mes=" + b"%" * 10,
    b"phones=%2B79651111111&mes=hi&login=acme&psw=acme-pw&fmt=99&charset=bogus",
    b'{"messages": [{"phone_number": "1e999", "text": "' + "ж".encode() * 5000 + b'"}]}',
]
CONTENT_TYPES = [
    "application/json",
    "text/json; charset=utf-8;",
    "application/x-www-form-urlencoded",
    "text/xml",
    "multipart/form-data; boundary=zzz",
    "",
]
AUTHS = [None, "Basic YWNtZTphY21lLXB3", "Basic !!!", "Bearer acme-token", "Bearer x"]


def _concrete(path: str) -> str:
    return (
        path.replace("{client_id}", "acme")
        .replace("{message_id}", "9f60ac8f-e721-5027-b838-e6fcb95fcd7a")
        .replace("{extra_id}", "AD-1")
        .replace("{job_id}", "-1")
        .replace("{batch_id}", "abc")
        .replace("{user_name}", "acme")
        .replace("{client_message_id}", "x" * 300)
    )


def _paths(gateway: Gateway) -> list[tuple[str, set[str]]]:
    found = []
    for route in gateway.app.app.routes:
        if isinstance(route, Route):
            found.append((_concrete(route.path_format), set(route.methods or {"GET"})))
    return found


async def test_garbage_never_gets_a_500(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme"))
    rng = random.Random(7)
    paths = _paths(gateway)
    assert len(paths) > 20
    failures = []
    for path, methods in paths:
        for method in sorted(methods - {"HEAD"}):
            for _ in range(6):
                body = rng.choice(BODIES)
                headers = {"Content-Type": rng.choice(CONTENT_TYPES)}
                auth = rng.choice(AUTHS)
                if auth:
                    headers["Authorization"] = auth
                query = rng.choice(
                    [
                        "",
                        "?fmt=3",
                        "?login=acme&psw=acme-pw&id=%00",
                        "?str_hash=zz&login=acme&txn_id=1",
                    ]
                )
                r = await http.request(method, path + query, data=body, headers=headers)
                text = await r.text(errors="replace")
                if (r.status >= 500 and r.status != 503) or "Traceback" in text:
                    failures.append((method, path + query, r.status, text[:200]))
    assert failures == []


async def test_an_unexpected_failure_is_a_bare_json_500(
    gateway: Gateway, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug answers a 500 in JSON without its details, on the fast route and on the others."""
    await gateway.provision(account("acme"))
    api = gateway.app.app.state.gateway

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api, "submit", broken)
    monkeypatch.setattr(api, "balance", broken)
    auth = {"Authorization": "Bearer acme-token"}
    for method, path in (("POST", "/api/v1/messages"), ("GET", "/api/v1/balance")):
        r = await http.request(
            method, path, json={"to": "+79651111111", "text": "hi"}, headers=auth
        )
        assert r.status == 500
        assert await r.json() == {"error": {"code": "system_error", "message": "internal error"}}
