"""Generated requests against every OsonSMS path on a real server: the seed's signed requests
with a variable changed, removed or added, sent as a query string, a form, JSON or multipart;
raw bodies (bytes, JSON, deep nesting); a Bearer token or none; other methods and paths under
the cabinet's. Never a 5xx; every refusal in the path's own shape: the send API's
`{"error": {"code", "msg", "timestamp"}}`, the cabinet's `{"error": "..."}` or its validation
errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import msgspec
import pytest
from hypothesis import strategies as st

from smsgate.dialects.osonsms import errors
from smsgate.provision import CredentialSpec
from tests.support.backends import both_backends
from tests.support.fuzz import METHODS, header_values, mostly, nested, run
from tests.support.servers import Gateway, account

from .conftest import TIMESTAMP, balance_params, error_of, query_params, send_params, sha256

SEND, QUERY, BALANCE = "/sendsms_v1.php", "/query_sms.php", "/check_balance.php"
CABINET = "/api/v1/bulk-sms"
BULK = CABINET + "/create"
TOKEN = "acme-oson-token"
# Every code the send API answers: the seed's and ours (docs/dialects/osonsms.md).
KNOWN_CODES = {code for _, code, _ in errors.TABLE.values()} | {100, 101, 106, 109, 115}


texts = st.text(max_size=30)
values = st.one_of(
    texts,
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", " ", "+", "992", "992900000001", "true", "telegram", "sms", "%00"]),
)
REMOVE = None


def bulk_params(txn_id: str) -> dict[str, str]:
    """The cabinet's fields, signed: sha256(txn_id;login;from;salt)."""
    return {
        "from": "ACME",
        "msg": "Sale today",
        "login": "acme",
        "str_hash": sha256(f"{txn_id};acme;ACME;acme-salt"),
        "txn_id": txn_id,
    }


SIGNED = {  # path -> a correctly signed request's variables, given a fresh txn_id
    SEND: lambda txn_id: send_params(txn_id=txn_id),
    QUERY: lambda txn_id: query_params(msg_id=1, txn_id=txn_id),
    BALANCE: lambda txn_id: balance_params(txn_id=txn_id),
    BULK: bulk_params,
}
FIELDS = sorted(
    {"from", "phone_number", "msg", "login", "str_hash", "txn_id", "msg_id", "channel"}
    | {"is_confidential", "send_at", "name", "file"}
)


def variables(path: str, txn_id: int, changes: dict[str, str | None]) -> dict[str, str]:
    found = SIGNED[path](f"fz-{txn_id}")
    for name, value in changes.items():
        if value is REMOVE:
            found.pop(name, None)
        else:
            found[name] = value
    return found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    st.builds(nested, st.integers(100, 3000), st.sampled_from([b"[", b'{"msg":']), st.just(b"]")),
)
csv_files = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(["992900000001", "+992 90 000 0002", "x", "", "phone"]) | texts).map(
        lambda lines: "\n".join(lines).encode()
    ),
)
content_types = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/json; charset=utf-8;",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
]
requests = st.fixed_dictionaries(
    {
        "path": st.sampled_from([SEND, QUERY, BALANCE, BULK]),
        "other_path": mostly(st.none(), texts.map(lambda s: f"{CABINET}/{quote(s, safe='')}")),
        "method": mostly(st.none(), st.sampled_from(METHODS)),
        "txn_id": st.integers(0, 10**12),
        "changes": st.dictionaries(st.sampled_from(FIELDS), values | st.none(), max_size=3),
        "transport": st.sampled_from(["query", "form", "json", "multipart", "raw"]),
        "raw": raw_bodies,
        "file": csv_files,
        "bearer": mostly(st.none(), st.sampled_from([TOKEN, "wrong", ""]) | header_values),
        "content_type": st.sampled_from(content_types) | header_values,
        "query": st.dictionaries(st.sampled_from(FIELDS) | texts, values, max_size=2),
    }
)


def send(client: httpx.Client, r: dict[str, Any]) -> tuple[str, str, httpx.Response]:
    """The generated request on the wire: (path, method, answer)."""
    path = r["other_path"] or r["path"]
    cabinet = path.startswith(CABINET)
    method = r["method"] or ("POST" if cabinet or r["transport"] != "query" else "GET")
    v = variables(r["path"], r["txn_id"], r["changes"])
    headers = {}
    if r["bearer"] is not None and r["bearer"].strip():
        headers["Authorization"] = f"Bearer {r['bearer'].strip()}"
    transport = r["transport"]
    kwargs: dict[str, Any] = {"params": r["query"]}
    if transport == "query":
        kwargs["params"] = {**r["query"], **v}
    elif transport == "form":
        kwargs["data"] = v
    elif transport == "json":
        kwargs["json"] = v
    elif transport == "multipart":
        kwargs["data"] = v
        kwargs["files"] = {"file": ("numbers.csv", r["file"], "text/csv")}
    else:
        kwargs["content"] = r["raw"]
        if r["content_type"].strip():
            headers["Content-Type"] = r["content_type"].strip()
    return path, method, client.request(method, path, headers=headers, **kwargs)


def check(client: httpx.Client, r: dict[str, Any]) -> None:
    path, method, answer = send(client, r)
    status = answer.status_code
    assert status < 500, (status, answer.text[:200], r)
    if method == "HEAD":
        return
    assert answer.headers["Content-Type"] == "application/json", (answer.headers, r)
    body = msgspec.json.decode(answer.content)
    if path.startswith(CABINET):
        assert_cabinet_answer(status, body, r)
    elif status >= 400:
        code, _ = error_of(body)
        assert code in KNOWN_CODES, (body, r)
    elif path == SEND:
        assert status == 201 and body["status"] == "ok", (status, body)
    else:
        assert status == 200 and re.match(TIMESTAMP, body["timestamp"]), (status, body)


def assert_cabinet_answer(status: int, body: Any, context: object) -> None:
    if status == 200:
        assert body["status"] == "success", (body, context)
    elif status == 422 and "success" in body:
        assert body["success"] is False and body["message"] == "Validation errors", body
        assert isinstance(body["data"], dict) and body["data"], (body, context)
    else:
        assert set(body) == {"error"} and isinstance(body["error"], str), (body, context)


@pytest.fixture
async def signer(gateway: Gateway) -> int:
    """An account signing with its salt or a Bearer token."""
    creds = [
        CredentialSpec(dialect="osonsms", kind="token", secret=TOKEN),
        CredentialSpec(dialect="osonsms", kind="salt", identifier="acme", secret="acme-salt"),
    ]
    (account_id,) = await gateway.provision(account("acme", credentials=creds))
    return account_id


@both_backends
async def test_no_request_gets_a_5xx_or_another_format(gateway: Gateway, signer: int) -> None:
    await run(gateway.url, requests, check)


async def test_json_nested_a_thousand_levels_is_a_malformed_body(
    http: aiohttp.ClientSession, signer: int
) -> None:
    """The issue's input: about 1,000 levels, which msgspec refuses with RecursionError."""
    for depth in (1000, 5000):
        for opening, closing in ((b'{"msg":', b"}"), (b'{"a":[', b"]}")):
            body = nested(depth, opening, closing)
            for path in (SEND, QUERY, BALANCE):
                r = await http.post(path, data=body, headers={"Content-Type": "application/json"})
                assert r.status == 422, (path, await r.text())
                assert error_of(await r.json()) == (101, "Incorrect request body.")
            r = await http.post(BULK, data=body, headers={"Content-Type": "application/json"})
            assert r.status == 400, await r.text()
            assert set(await r.json()) == {"error"}


async def test_unknown_cabinet_paths_and_methods(http: aiohttp.ClientSession, signer: int) -> None:
    for path in (CABINET, CABINET + "/", CABINET + "/list", CABINET + "/create/x"):
        for method in ("GET", "POST", "DELETE"):
            async with http.request(method, path, allow_redirects=False) as r:
                assert (r.status, await r.json()) == (404, {"error": "Not found"}), (method, path)
    for path in (SEND, QUERY, BALANCE):
        async with http.options(path) as r:
            assert r.status == 405
            assert error_of(await r.json()) == (101, "Method not allowed.")
    async with http.options(BULK) as r:
        assert (r.status, await r.json()) == (405, {"error": "Method not allowed"})


@both_backends
async def test_a_nul_in_a_key_finds_nothing(http: aiohttp.ClientSession, signer: int) -> None:
    """PostgreSQL keeps no text with a NUL: a lookup by one is "not found" there too, not a 500."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with http.get(QUERY, params={"txn_id": "a\x00"}, headers=bearer) as r:
        assert r.status == 404
        assert error_of(await r.json()) == (107, "Message ID is invalid")
    params = {**balance_params(), "login": "acme\x00"}
    async with http.get(BALANCE, params=params) as r:
        assert r.status == 401
        assert error_of(await r.json()) == (105, "Inactive or non-existent account")


async def test_bytes_in_no_known_charset(http: aiohttp.ClientSession, signer: int) -> None:
    """Not UTF-8, and 0x98 is no CP1251 character either: a form value or CSV line the client
    cannot have meant, not a 500."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = {k: v for k, v in send_params().items() if k != "msg"}  # msg is not hashed
    body = "&".join(f"{k}={quote(v)}" for k, v in signed.items()).encode() + b"&msg=\x98"
    async with http.post(SEND, data=body, headers=form) as r:
        assert r.status == 201, await r.text()
    data = aiohttp.FormData()
    for key, value in bulk_params("fz-charset").items():
        data.add_field(key, value)
    data.add_field("file", b"992900000001\n99290\x980002\n", filename="n.csv")
    async with http.post(BULK, data=data) as r:
        assert r.status == 200, await r.text()
        report = (await r.json())["data"]
        assert (report["recipients"], report["invalid_lines"]) == (1, 1)
