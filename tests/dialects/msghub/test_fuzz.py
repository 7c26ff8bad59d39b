"""Generated requests against every MsgHub endpoint on a real server: bodies (bytes, JSON, the
seed's requests with a field changed or removed, deep nesting), paths with odd ids, queries and
headers. Never a 5xx; every refusal in MsgHub's shape, `{"error_code": N, "error_text": "..."}`
with one of its codes; every success a JSON object."""

from __future__ import annotations

import asyncio
import copy
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgate.dialects.msghub.errors import CODES, DELIVERY_ERROR
from tests.support.backends import both_backends
from tests.support.servers import Gateway

from . import seed_examples as seed
from .conftest import AUTH, basic

KNOWN_CODES = {code for code, _ in CODES.values()} | {DELIVERY_ERROR[0]}
SEND, READ = "POST", "GET"
ROUTES = [  # (path, the method it takes)
    ("/msghub/api/{cid}/json2/simple", SEND),
    ("/msghub/api/{cid}/json2/batch", SEND),
    ("/msghub/api/{cid}/json2/batch/sync", SEND),
    ("/msghub/api/{cid}/json2/broadcast", SEND),
    ("/msghub/api/{cid}/json2/broadcast/sync", SEND),
    ("/msghub/api/{cid}/json", SEND),
    ("/msghub/api/{cid}", SEND),
    ("/msghub/api/{cid}/json2/job/{id}", READ),
    ("/msghub/api/{cid}/json2/job/status/{id}", READ),
    ("/msghub/api/{cid}/dr/{id}/simple", READ),
    ("/msghub/api/{cid}/dr/{id}/advanced", READ),
    ("/msghub/api/{cid}/dr/external/{id}/simple", READ),
    ("/msghub/api/{cid}/dr/external/{id}/advanced", READ),
    ("/msghub/api/{cid}/{id}/{id}", READ),
    ("/msghub/{id}", READ),
]
VALID = [
    seed.load(seed.SIMPLE_REQUEST),
    seed.load(seed.BATCH_REQUEST),
    seed.load(seed.BROADCAST_REQUEST),
    seed.load(seed.BROADCAST_BOUNDS_REQUEST),
]
FIELDS = [
    ("phone_number",),
    ("extra_id",),
    ("callback_url",),
    ("start_time",),
    ("tag",),
    ("channels",),
    ("channel_options",),
    ("channel_options", "sms"),
    ("channel_options", "sms", "text"),
    ("channel_options", "sms", "alpha_name"),
    ("channel_options", "sms", "ttl"),
    ("messages",),
    ("recipients",),
    ("sms_cyrillic",),
    ("sms_latin", "max"),
    ("is_promotional",),
]
REMOVE = object()


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` seven times in ten: most requests get past authentication to the parsing."""
    return st.integers(0, 9).flatmap(lambda n: usual if n < 7 else other)


segments = st.text(max_size=40).map(lambda s: quote(s, safe=""))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)


def mutated(base: dict[str, Any], path: tuple[str, ...], value: Any) -> bytes:
    """A seed request with one field (at `path`, created if absent) replaced or removed."""
    body = copy.deepcopy(base)
    node = body
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value is REMOVE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return msgspec.json.encode(body)


NESTINGS = [  # (opening, closing) of one level; `{}` holds the innermost value
    (b"[", b"]"),
    (b'{"a":', b"}"),
    (b'{"tag":"t","x":', b"}"),
]


def nested(depth: int, level: tuple[bytes, bytes], inside: bytes) -> bytes:
    opening, closing = level
    return opening * depth + inside + closing * depth


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    st.builds(
        mutated, st.sampled_from(VALID), st.sampled_from(FIELDS), json_values | st.just(REMOVE)
    ),
    st.builds(nested, st.integers(100, 3000), st.sampled_from(NESTINGS), st.just(b"1")),
    st.builds(  # deep inside a valid request's recipient (a broadcast's template variable)
        lambda depth: msgspec.json.encode(VALID[2]).replace(
            b'"name":"Michael"', b'"name":' + nested(depth, (b"[", b"]"), b"1")
        ),
        st.integers(100, 3000),
    ),
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
content_types = [
    "application/json",
    "text/json; charset=utf-8;",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]
other_auth = st.sampled_from(
    [
        basic("acme", "wrong")["Authorization"],
        basic("nobody")["Authorization"],
        "Basic !!!",
        "Bearer x",
        "",
    ]
)
headers = st.fixed_dictionaries(
    {
        "Content-Type": mostly(st.sampled_from(content_types), header_values),
        "Authorization": mostly(st.just(AUTH["Authorization"]), other_auth | header_values),
    },
    optional={
        "X-Forwarded-For": header_values,
        "Accept": header_values,
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "br"]) | header_values,
        "X-Request-Id": header_values,
    },
)
requests = st.fixed_dictionaries(
    {
        "route": st.sampled_from(ROUTES),
        "other_method": mostly(
            st.none(), st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        ),
        "cid": mostly(st.just("acme"), st.just("other") | segments),
        "id": mostly(segments, st.sampled_from(["%00", "a%00b", "%FF", "%2E%2E"])),
        "body": bodies,
        "query": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
        "headers": headers,
    }
)


def check(client: httpx.Client, r: dict[str, Any]) -> None:
    route, own_method = r["route"]
    path = route.replace("{cid}", r["cid"] or "acme").replace("{id}", r["id"] or "x")
    method = r["other_method"] or own_method
    # Surrounding blanks are not part of a header value on the wire (and h11 refuses them).
    headers = {k: v.strip() for k, v in r["headers"].items() if v.strip()}
    answer = client.request(method, path, params=r["query"], content=r["body"], headers=headers)
    assert answer.status_code < 500, (answer.status_code, answer.text[:200], r)
    if method == "HEAD":
        return
    assert answer.headers["content-type"] == "application/json", answer.headers
    body = msgspec.json.decode(answer.content)
    assert isinstance(body, dict), answer.text[:200]
    if answer.status_code == 200:
        return
    assert set(body) == {"error_code", "error_text"}, (answer.status_code, body, r)
    assert body["error_code"] in KNOWN_CODES and isinstance(body["error_text"], str), body


@both_backends
async def test_no_request_gets_a_5xx_or_another_format(gateway: Gateway, acme: int) -> None:
    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests)
    def fuzz(request: dict[str, Any]) -> None:
        check(client, request)

    with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
        # The server runs on this loop: the client waits for it in a thread of its own.
        await asyncio.to_thread(fuzz)
