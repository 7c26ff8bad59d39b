"""Generated requests against every MsgHub endpoint on a real server: bodies (bytes, JSON, the
seed's requests with a field changed or removed, deep nesting), paths with odd ids, queries and
headers. Never a 5xx; every refusal in MsgHub's shape, `{"error_code": N, "error_text": "..."}`
with one of its codes; every success a JSON object."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import msgspec
from hypothesis import strategies as st

from smsgate.dialects.msghub.errors import CODES, DELIVERY_ERROR
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


segments = path_segments(40)


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


NESTINGS = [  # (opening, closing) of one level
    (b"[", b"]"),
    (b'{"a":', b"}"),
    (b'{"tag":"t","x":', b"}"),
]


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    st.builds(
        mutated, st.sampled_from(VALID), st.sampled_from(FIELDS), json_values | st.just(REMOVE)
    ),
    st.builds(
        lambda depth, level: nested(depth, *level),
        st.integers(100, 3000),
        st.sampled_from(NESTINGS),
    ),
    st.builds(  # deep inside a valid request's recipient (a broadcast's template variable)
        lambda depth: msgspec.json.encode(VALID[2]).replace(
            b'"name":"Michael"', b'"name":' + nested(depth, b"[", b"]")
        ),
        st.integers(100, 3000),
    ),
)
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
        "other_method": other_methods,
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
    answer = send(client, method, path, r)
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
    await run(gateway.url, requests, check)
