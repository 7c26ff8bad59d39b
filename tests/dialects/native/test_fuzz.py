"""Generated requests against every native endpoint on a real server: bodies (bytes, JSON,
docs/native.md's send and bulk requests with a field changed or removed, deep nesting), odd ids
and paths under /api, methods, queries and headers. Never a 5xx; every refusal in the native
shape, `{"error": {"code": "<a canonical code>", "message": "...", "field"?: "..."}}`."""

from __future__ import annotations

import copy
from typing import Any

import aiohttp
import httpx
import msgspec
from hypothesis import strategies as st

from smsgate.core.errors import ErrorCode
from tests.support.backends import both_backends
from tests.support.fuzz import (
    header_values,
    json_values,
    mostly,
    nested,
    other_methods,
    path_segments,
    run,
    send,
)
from tests.support.servers import Gateway, account

AUTH = "Bearer acme-token"
CODES = {code.value for code in ErrorCode}
ROUTES = [  # (path, the method it takes)
    ("/api/v1/messages", "POST"),  # a bare ASGI handler (fast route)
    ("/api/v1/messages/", "POST"),
    ("/api/v1/messages/bulk", "POST"),
    ("/api/v1/messages", "GET"),
    ("/api/v1/messages/{id}", "GET"),
    ("/api/v1/messages/{id}", "DELETE"),
    ("/api/v1/messages/{id}/events", "GET"),
    ("/api/v1/jobs/{id}", "GET"),
    ("/api/v1/balance", "GET"),
    ("/api/v1/senders", "GET"),
    ("/api/v1/incoming", "GET"),
    ("/api/{id}", "GET"),
    ("/api/v1/{id}/{id}", "POST"),
]
# docs/native.md's requests.
SEND: dict[str, Any] = {
    "to": "+79651234567",
    "text": "Your code is 1234",
    "from": "ACME",
    "client_ref": "order-1",
    "ttl": 3600,
    "priority": 1,
    "tag": "otp",
}
BULK: dict[str, Any] = {
    "recipients": [
        {"to": "+79651111111", "vars": {"name": "Ann"}},
        {"to": "+79652222222", "text": "Hi", "client_ref": "r2"},
    ],
    "text": "Hello %name%",
    "from": "ACME",
    "atomic": False,
}
FIELDS = [
    ("to",),
    ("text",),
    ("from",),
    ("client_ref",),
    ("schedule_at",),
    ("ttl",),
    ("priority",),
    ("flash",),
    ("callback_url",),
    ("callback_events",),
    ("confidential",),
    ("recipients",),
    ("recipients", 0, "to"),
    ("recipients", 0, "vars"),
    ("recipients", 1, "text"),
    ("atomic",),
]
REMOVE = object()


segments = path_segments(30)


def mutated(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> bytes:
    """A request with one field (at `path`, where it exists) replaced or removed."""
    body = copy.deepcopy(base)
    node: Any = body
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return msgspec.json.encode(body)
    if value is REMOVE:
        if isinstance(node, dict):
            node.pop(path[-1], None)
    elif isinstance(node, dict):
        node[path[-1]] = value
    return msgspec.json.encode(body)


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    st.builds(
        mutated,
        st.sampled_from([SEND, BULK]),
        st.sampled_from(FIELDS),
        json_values | st.just(REMOVE),
    ),
    st.builds(
        nested,
        st.integers(100, 3000),
        st.sampled_from([b"[", b'{"to":', b'{"recipients":[{"vars":{"a":']),
        st.just(b"]"),
    ),
)
content_types = ["application/json", "text/json; charset=utf-8;", "text/plain", ""]
headers = st.fixed_dictionaries(
    {
        "Content-Type": mostly(st.sampled_from(content_types), header_values),
        "Authorization": mostly(
            st.just(AUTH),
            st.sampled_from(["Bearer wrong", "Bearer ", "Basic x", ""]) | header_values,
        ),
    },
    optional={
        "Accept": header_values,
        "Content-Encoding": st.sampled_from(["gzip", "deflate"]) | header_values,
        "X-Request-Id": header_values,
    },
)
queries = st.dictionaries(
    st.sampled_from(["status", "limit", "after", "client_ref", "job_id", "since"])
    | st.text(max_size=10),
    st.text(max_size=10) | st.integers(-(2**70), 2**70).map(str),
    max_size=3,
)
requests = st.fixed_dictionaries(
    {
        "route": st.sampled_from(ROUTES),
        "other_method": other_methods,
        "id": mostly(segments, st.sampled_from(["%00", "%0A", "%FF", "..", "%2E%2E"])),
        "body": bodies,
        "query": queries,
        "headers": headers,
    }
)


def assert_refusal(body: Any, context: object) -> None:
    """The native error body: a canonical code and a message (and the field it is about)."""
    assert isinstance(body, dict) and set(body) == {"error"}, (body, context)
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}, (body, context)
    assert error["code"] in CODES and isinstance(error["message"], str), (body, context)


def check(client: httpx.Client, r: dict[str, Any]) -> None:
    route, own_method = r["route"]
    path = route.replace("{id}", r["id"] or "x")
    method = r["other_method"] or own_method
    answer = send(client, method, path, r)
    if method == "HEAD" or answer.status_code == 204:
        return
    if 300 <= answer.status_code < 400:  # Starlette's redirect to the path without its slash
        assert answer.headers["Location"].startswith(str(client.base_url)), answer.headers
        return
    body = msgspec.json.decode(answer.content)
    if answer.status_code >= 400:
        assert_refusal(body, r)
    else:
        assert isinstance(body, dict | list), body


@both_backends
async def test_no_request_gets_a_5xx_or_another_format(gateway: Gateway) -> None:
    await gateway.provision(account("acme"))
    await run(gateway.url, requests, check)


async def test_json_nested_a_thousand_levels_and_unknown_paths(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """The issue's inputs: about 1,000 levels of JSON, and paths under /api nobody serves."""
    await gateway.provision(account("acme"))
    auth = {"Authorization": AUTH}
    for depth in (1000, 5000):
        for path in ("/api/v1/messages", "/api/v1/messages/bulk"):
            for opening in (b"[", b'{"to":', b'{"recipients":[{"vars":{"a":'):
                body = nested(depth, opening, b"]")
                r = await http.post(path, data=body, headers=auth)
                assert r.status == 400, (path, opening, await r.text())
                assert_refusal(await r.json(), (path, opening))
    for path in ("/api", "/api/", "/api/v2/messages", "/api/v1/nothing", "/api/v1/messages/x/y"):
        for method in ("GET", "POST", "DELETE"):
            r = await http.request(method, path, headers=auth, allow_redirects=False)
            assert r.status in (404, 405), (method, path)
            assert_refusal(await r.json(), (method, path))


@both_backends
async def test_a_nul_in_an_id_finds_nothing(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    """PostgreSQL keeps no text with a NUL: a lookup by one is "not found" there too, not a 500."""
    await gateway.provision(account("acme"))
    auth = {"Authorization": AUTH}
    for method, path in (
        ("GET", "/api/v1/messages/%00"),
        ("GET", "/api/v1/messages/a%00/events"),
        ("GET", "/api/v1/jobs/%00"),
        ("DELETE", "/api/v1/messages/%00"),
    ):
        r = await http.request(method, path, headers=auth)
        assert r.status == 404, (method, path, await r.text())
        assert (await r.json())["error"]["code"] == "not_found"
