"""No request to the admin API, however malformed, gets a 500 or a traceback: every route, as
an operator with a valid session and CSRF token (so that the handlers really run), with bad
bodies, bad ids and odd content types."""

from __future__ import annotations

import random

from starlette.routing import Route

from smsgate.admin import api
from tests.admin.support import login, make_admin, session
from tests.support.servers import Gateway, account

BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"\xff\xfe\x00garbage",
    b'{"name": 5, "balance": [], "price": {}, "tps": "x", "timezone": 7}',
    b'{"name": "' + b"x" * 5000 + b'", "balance": "1e999999", "price": "NaN"}',
    b'{"kind": "top_up", "amount": "Infinity", "reason": "x"}',
    b'{"kind": "debit", "amount": 1e308, "reason": "x"}',
    b'{"kind": "correction", "amount": "-0", "reason": "\\u0000"}',
    b'{"phones": ["+7", 1e30, null, "\\u0000", ""]}',
    b'{"phones": "79651111111"}',
    b'{"native": "http://[::1", "smsc.mo": 5, "x.mo": "https://a.example/"}',
    b'{"dialect": "native", "kind": "token", "identifier": "' + b"\\u00e9" * 300 + b'"}',
    b'{"dialect": "smsc", "kind": "login", "identifier": ""}',
    b'{"username": null, "password": 5}',
    b'{"active": "yes", "ip_allowlist": ["300.1.1.1/99"], "currency": "RUBLES"}',
]
IDS = ["1", "0", "-1", "99999999999999999999999", "abc", "%00", "1.5"]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]


def _paths() -> list[tuple[str, set[str]]]:
    found = []
    for route in api.routes():
        assert isinstance(route, Route)
        found.append((route.path_format, set(route.methods or {"GET"}) - {"HEAD"}))
    return found


async def test_garbage_never_gets_a_500(gateway: Gateway) -> None:
    await gateway.provision(account("acme"))
    password = await make_admin(gateway.store, "alice")
    rng = random.Random(20)
    failures = []
    async with session(gateway.url) as http:
        alice = await login(http, "alice", password)
        for template, methods in _paths():
            for method in sorted(methods):
                for _ in range(8):
                    path = (
                        template.replace("{account_id}", rng.choice(IDS))
                        .replace("{ref}", rng.choice(["0" * 16, "zz", "%2F.."]))
                        .replace("{name}", rng.choice(["ACME", "%20", "x" * 300]))
                    )
                    if path == "/logout":
                        continue  # it would end the session the other requests use
                    query = rng.choice(["", "?limit=0", "?before=x", "?limit=99999&target=%00"])
                    headers = {
                        "Content-Type": rng.choice(CONTENT_TYPES),
                        "X-CSRF-Token": alice.csrf,
                    }
                    r = await http.request(
                        method,
                        f"/admin/api{path}{query}",
                        data=rng.choice(BODIES),
                        headers=headers,
                    )
                    text = await r.text(errors="replace")
                    if (r.status >= 500 and r.status != 503) or "Traceback" in text:
                        failures.append((method, path + query, r.status, text[:200]))
                    elif r.status >= 400:
                        assert r.headers["Content-Type"].startswith("application/json"), path
    assert failures == []
