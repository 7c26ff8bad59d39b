"""Generated requests against every SMSGW2 resource on a real server: bodies (bytes, JSON, the
seed's messages and batches with a field changed or removed, deep nesting), odd ids and paths
under /app/smsgw, methods, queries and headers. Never a 5xx; every refusal in SMSGW2's shape,
`{"error_message": "..."}` with an `error_code` of the seed's table (or 10012) and a batch's
`message_index` where it has them; every success the seed's."""

from __future__ import annotations

import copy
from typing import Any

import aiohttp
import httpx
import msgspec
from hypothesis import strategies as st

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

from .conftest import BASE, KZ, basic

# The seed's error table (0-255) and its schedule error.
KNOWN_CODES = {*range(256), 10012}
ROUTES = [  # (path, the method it takes)
    (BASE + "/messages", "POST"),
    (BASE + "/messages/{id}", "GET"),
    (BASE + "/messages/{id}", "DELETE"),
    (BASE + "/batches", "POST"),
    (BASE + "/batches/{id}", "GET"),
    (BASE + "/senders", "GET"),
    (BASE + "/users/{user}/client_messages/{id}", "GET"),
    (BASE + "/{id}", "GET"),
    ("/app/smsgw/rest/{id}/messages", "POST"),
    ("/app/smsgw/{id}", "GET"),
]
# The seed's single message ("Тело запроса") and its optional fields.
SEED_MESSAGE: dict[str, Any] = {
    "client_message_id": "236234857",
    "sender": "SMSGW",
    "recipient": "77010000000",
    "message_text": "тест",
    "priority": 0,
    "expire_date": "2030-12-24 16:33:05",
    "time_bounds": "wd99",
    "flash": False,
}
FIELDS = [*SEED_MESSAGE, "schedule"]
REMOVE = object()


segments = path_segments(30)


def mutated(field: str, value: Any, client_id: int) -> dict[str, Any]:
    """The seed's message with one field replaced or removed (and an id of its own)."""
    body = copy.deepcopy(SEED_MESSAGE)
    body["client_message_id"] = f"fuzz-{client_id}"
    if value is REMOVE:
        body.pop(field, None)
    else:
        body[field] = value
    return body


messages = st.builds(
    mutated, st.sampled_from(FIELDS), json_values | st.just(REMOVE), st.integers(0, 10**9)
)


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    messages.map(msgspec.json.encode),
    st.builds(
        lambda items, fail_fast: msgspec.json.encode({"messages": items, "fail-fast": fail_fast}),
        st.lists(messages | json_values, max_size=5),
        json_values,
    ),
    st.builds(
        nested, st.integers(100, 3000), st.sampled_from([b"[", b'{"messages":']), st.just(b"]")
    ),
    st.builds(  # deep inside a batch's message
        lambda depth: msgspec.json.encode({"messages": [SEED_MESSAGE]}).replace(
            b'"flash":false', b'"flash":' + nested(depth, b"[", b"]")
        ),
        st.integers(100, 3000),
    ),
)
content_types = [
    "application/json;charset=utf-8",
    "text/json; charset=utf-8;",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]
other_auth = st.sampled_from(
    [basic("kz", "wrong")["Authorization"], basic("nobody")["Authorization"], "Basic !!!", ""]
)
headers = st.fixed_dictionaries(
    {
        "Content-Type": mostly(st.sampled_from(content_types), header_values),
        "Authorization": mostly(st.just(KZ["Authorization"]), other_auth | header_values),
    },
    optional={
        "Accept": header_values,
        "Content-Encoding": st.sampled_from(["gzip", "deflate"]) | header_values,
        "X-Forwarded-For": header_values,
    },
)
requests = st.fixed_dictionaries(
    {
        "route": st.sampled_from(ROUTES),
        "other_method": other_methods,
        "user": mostly(st.just("kz"), segments),
        "id": mostly(st.integers(0, 2**70).map(str), segments | st.just("%00")),
        "body": bodies,
        "query": st.dictionaries(
            st.sampled_from(["segments_info", "fail-fast"]) | st.text(max_size=10),
            st.text(max_size=10),
            max_size=3,
        ),
        "headers": headers,
    }
)


def assert_refusal(status: int, body: Any, context: object) -> None:
    """SMSGW2's error body: the text, the code where the seed numbers the error, a batch's
    index; nothing else."""
    assert isinstance(body, dict), (status, body, context)
    assert isinstance(body.get("error_message"), str) and body["error_message"], (body, context)
    assert set(body) <= {"error_code", "error_message", "message_index"}, (body, context)
    if "error_code" in body:
        assert body["error_code"] in KNOWN_CODES, (body, context)
    if "message_index" in body:
        assert isinstance(body["message_index"], int), (body, context)


def check(client: httpx.Client, r: dict[str, Any]) -> None:
    route, own_method = r["route"]
    path = route.replace("{user}", r["user"] or "kz").replace("{id}", r["id"] or "x")
    method = r["other_method"] or own_method
    answer = send(client, method, path, r)
    status = answer.status_code
    if method == "HEAD" or status == 204:
        assert not answer.content
        return
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8", r
    body = msgspec.json.decode(answer.content)
    if status == 201:
        assert set(body) in ({"message_id"}, {"batch_id"}), body
        assert answer.headers["Location"].startswith(str(client.base_url) + BASE), answer.headers
    elif status == 200:
        assert isinstance(body, dict | list), body
    else:
        assert_refusal(status, body, r)


@both_backends
async def test_no_request_gets_a_5xx_or_another_format(gateway: Gateway, kz: int) -> None:
    await run(gateway.url, requests, check)


async def test_json_nested_a_thousand_levels_is_malformed_json(
    http: aiohttp.ClientSession, kz: int
) -> None:
    """The issue's input: about 1,000 levels, which msgspec refuses with RecursionError."""
    for depth in (1000, 5000):
        for path, body in (
            ("/messages", nested(depth, b"[", b"]")),
            ("/batches", nested(depth, b'{"messages":', b"}")),
            ("/batches", b'{"messages":[' + nested(depth, b'{"a":', b"}") + b"]}"),
        ):
            r = await http.post(BASE + path, data=body, headers=KZ)
            assert r.status == 400, (path, depth, await r.text())
            assert await r.json() == {"error_message": "Malformed JSON in request body"}


@both_backends
async def test_a_nul_in_an_id_finds_nothing(http: aiohttp.ClientSession, kz: int) -> None:
    """PostgreSQL keeps no text with a NUL: a lookup by one is "not found" there too, not a 500."""
    for path in ("/users/kz/client_messages/%00", "/users/kz/client_messages/a%00b"):
        r = await http.get(BASE + path, headers=KZ)
        assert (r.status, await r.json()) == (404, {"error_message": "Message not found"}), path
    r = await http.get(BASE + "/senders", headers=basic("k\x00z"))
    assert (r.status, await r.json()) == (401, {"error_message": "Bad credentials"})


async def test_a_form_in_no_known_charset(http: aiohttp.ClientSession, kz: int) -> None:
    """Not UTF-8, and 0x98 is no CP1251 character either: a field the client cannot have meant,
    not a 500."""
    form = {**KZ, "Content-Type": "application/x-www-form-urlencoded"}
    body = b"client_message_id=f\x98&sender=SMSGW&recipient=77010000000&message_text=t\x98"
    r = await http.post(BASE + "/messages", data=body, headers=form)
    assert r.status == 201, await r.text()
    got = await (await http.get(r.headers["Location"], headers=KZ)).json()
    assert (got["client_message_id"], got["message_text"]) == ("f\ufffd", "t\ufffd")
