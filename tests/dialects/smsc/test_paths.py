"""Every path under /sys/ and /rest/ answers in SMSC.ru's format (issue 19), senders.php lists
the account's senders, and malformed JSON (1,000 levels deep) is SMSC.ru's error 1.

smsc_api.py reads an answer only when the request succeeds: on an HTTP error it retries on
www1..www5.smsc.ru with sleeps, then reports "," (garbage). So an unknown call must be HTTP 200
with the error in the requested `fmt`: "0,-1" for the libraries' fmt=1.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import aiohttp
import pytest

from tests.dialects.smsc.conftest import AUTH, call
from tests.support.servers import Gateway

ERROR_1 = {
    0: b"ERROR = 1 (parameters error)",
    1: b"0,-1",
    3: b'{"error":"parameters error","error_code":1}',
}


@pytest.mark.parametrize(
    "path",
    [
        "/sys/get.php",
        "/sys/info.php",
        "/sys/jobs.php",
        "/sys/",
        "/sys/nope",
        "/sys",
        "/sys/%0a0",  # a newline: Starlette's {rest:path} missed it (a native 404)
    ],
)
@pytest.mark.parametrize("fmt", [0, 1, 3])
async def test_unknown_sys_calls_answer_error_1_in_the_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, path: str, fmt: int
) -> None:
    status, body, ctype = await call(http, path, fmt=fmt, get_answers=1, **AUTH)
    assert (status, body) == (200, ERROR_1[fmt])
    assert ctype.startswith("application/json" if fmt == 3 else "text/plain")
    status, body, _ = await call(http, path, "POST", fmt=fmt, **AUTH)
    assert (status, body) == (200, ERROR_1[fmt])


async def test_unknown_rest_calls_and_methods(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, body, _ = await call(http, "/rest/jobs/", "POST", **AUTH)
    assert (status, body) == (200, ERROR_1[3])  # /rest/ answers JSON by default
    _, body, _ = await call(http, "/sys/jobs.php", fmt=2, **AUTH)
    root = ElementTree.fromstring(body)
    assert (root.tag, root.findtext("error_code")) == ("result", "1")
    # a method SMSC.ru does not take on a known path: still its error, not a bare 405
    for method in ("PUT", "DELETE", "PATCH"):
        r = await http.request(method, "/sys/send.php?fmt=1")
        assert (r.status, await r.read()) == (200, b"0,-1"), method


async def test_senders_lists_the_accounts_senders(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(http, "/sys/senders.php", get=1, fmt=3, **AUTH)
    assert json.loads(body) == [{"sender": "ACME"}, {"sender": "Test"}]
    _, body, _ = await call(http, "/sys/senders.php", get=1, fmt=1, **AUTH)
    assert body == b"ACME\nTest"
    _, body, _ = await call(http, "/sys/senders.php", get=1, **AUTH)
    assert body == b"sender = ACME\nsender = Test"
    _, body, _ = await call(http, "/sys/senders.php", get=1, fmt=2, **AUTH)
    assert [e.text for e in ElementTree.fromstring(body).iter("sender")] == ["ACME", "Test"]
    r = await http.post("/rest/senders/", json={**AUTH, "get": 1})
    assert json.loads(await r.read()) == [{"sender": "ACME"}, {"sender": "Test"}]
    # adding or removing a name is the operator's; credentials are checked first
    _, body, _ = await call(http, "/sys/senders.php", add=1, sender="NEW", fmt=1, **AUTH)
    assert body == b"0,-1"
    _, body, _ = await call(http, "/sys/senders.php", get=1, login="acme", psw="x", fmt=1)
    assert body == b"0,-2"


@pytest.mark.parametrize("path", ["/rest/send/", "/rest/status/", "/rest/balance/"])
async def test_json_nested_1000_deep_is_error_1(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, path: str
) -> None:
    for depth in (1000, 5000):
        deep = b'{"login": "acme", "psw": "acme-pw", "phones": ' + b"[" * depth + b"]" * depth
        r = await http.post(path, data=deep + b"}", headers={"Content-Type": "application/json"})
        assert (r.status, await r.read()) == (200, ERROR_1[3])
    # a list inside a list is no parameter value either
    r = await http.post(path, json={**AUTH, "phones": [["79651111111"]], "mes": "x"})
    assert (r.status, await r.read()) == (200, ERROR_1[3])
