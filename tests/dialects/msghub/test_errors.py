"""Everything a client can get wrong comes back as {"error_code", "error_text"}, never a 500."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from smsgate.store.base import StoreUnavailable
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

from .conftest import AUTH, basic, get, messages_of, post, simple_body, sms, url


def body(**changes: Any) -> dict[str, Any]:
    changes.setdefault("callback_url", None)
    return {k: v for k, v in simple_body(**changes).items() if v is not None}


def error(code: int, text: str) -> dict[str, Any]:
    return {"error_code": code, "error_text": text}


async def raw(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    data: bytes | str = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.request(
        method, path, data=data, headers=AUTH if headers is None else headers
    ) as r:
        return r.status, await r.json(content_type=None), r


@pytest.mark.parametrize(
    "headers",
    [{}, basic("acme", "wrong"), basic("nobody"), {"Authorization": "Basic !!!"}],
    ids=["none", "bad-password", "unknown-user", "garbage"],
)
async def test_bad_credentials(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, headers: dict[str, str]
) -> None:
    status, answer, r = await raw(http, "POST", url("/json2/simple"), "{}", headers)
    assert (status, answer) == (401, error(10001, "Authorization failed"))
    assert r.headers["WWW-Authenticate"].startswith("Basic")


async def test_client_id_must_belong_to_the_account(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account("acme", settings={"msghub": {"client_ids": ["1001", 1002]}}))
    for client_id in ("1001", "1002"):
        status, _ = await post(http, "/json2/simple", body(), client_id=client_id)
        assert status == 200
    for client_id in ("acme", "1003"):
        status, answer = await post(http, "/json2/simple", body(), client_id=client_id)
        assert (status, answer) == (403, error(10002, "Access denied for client_id"))


async def test_ip_allow_list(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme", ip_allowlist=["10.0.0.0/8"]))
    status, answer = await post(http, "/json2/simple", body())
    assert (status, answer) == (403, error(10003, "Access denied for IP address"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", error(10004, "Invalid JSON")),
        (b"{", error(10004, "Invalid JSON")),
        (b"[1, 2]", error(10004, "Invalid JSON")),
        (b"\xff\xfe", error(10004, "Invalid JSON")),
        (b'{"phone_number": 79651111111}', error(10005, "Mandatory parameter missing: channels")),
    ],
)
async def test_malformed_bodies(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, data: bytes, expected: Any
) -> None:
    status, answer, _ = await raw(http, "POST", url("/json2/simple"), data)
    assert (status, answer) == (400, expected)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phone_number": None}, error(10005, "Mandatory parameter missing: phone_number")),
        ({"channel_options": None}, error(10005, "Mandatory parameter missing: channel_options")),
        ({"channel_options": {}}, error(10005, "Mandatory parameter missing: channel_options.sms")),
        (
            {"channel_options": {"sms": sms(alpha_name=None)}},
            error(10005, "Mandatory parameter missing: channel_options.sms.alpha_name"),
        ),
        (
            {"channel_options": {"sms": sms(ttl=None)}},
            error(10005, "Mandatory parameter missing: channel_options.sms.ttl"),
        ),
        (
            {"channel_options": {"sms": sms(text=None)}},
            error(10005, "Mandatory parameter missing: text"),
        ),
        ({"channels": []}, error(10005, "Mandatory parameter missing: channels")),
        ({"channels": ["sms", "viber"]}, error(10009, "Unsupported channel: viber")),
        ({"channels": [{"x": 1}]}, error(10009, "Unsupported channel: channels")),
        (
            {"channel_options": {"sms": sms(ttl="soon")}},
            error(10006, "Invalid parameter value: channel_options.sms.ttl"),
        ),
        ({"is_promotional": "maybe"}, error(10006, "Invalid parameter value: is_promotional")),
        ({"phone_number": [7965]}, error(36024, "Phone number incorrect")),
        ({"phone_number": "12"}, error(36024, "Phone number incorrect")),
        ({"phone_number": True}, error(36024, "Phone number incorrect")),
        ({"extra_id": {"a": 1}}, error(10006, "Invalid parameter value: extra_id")),
        ({"start_time": "tomorrow"}, error(10015, "Invalid start_time")),
        ({"start_time": "2099-01-01 10:00:00+03:00"}, error(10015, "Invalid start_time")),
        ({"callback_url": "ftp://x"}, error(10006, "Invalid parameter value: callback_url")),
        (
            {"channel_options": {"sms": sms(text="   ")}},
            error(36025, "Message text is empty"),
        ),
        (
            {"channel_options": {"sms": sms(alpha_name="Nope")}},
            error(36027, "Alpha name not allowed"),
        ),
    ],
)
async def test_bad_fields(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    acme: int,
    changes: dict[str, Any],
    expected: Any,
) -> None:
    data = simple_body(callback_url=None)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    status, answer = await post(http, "/json2/simple", data)
    assert (status, answer) == (400, expected)
    assert await messages_of(gateway, acme) == []


async def test_sloppy_clients_are_understood(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    variants: list[tuple[Any, dict[str, str]]] = [
        (79651111111, {"Content-Type": "application/json"}),
        ("79651111112", {"Content-Type": "text/json; charset=utf-8;"}),
        ("+79651111113", {"Content-Type": " application/json"}),
        ("+7 965 111-11-14", {"Content-Type": "text/plain"}),
        ("79651111115", {}),
    ]
    for n, (phone, headers) in enumerate(variants):
        data = body(
            phone_number=phone,
            extra_id=f"s{n}",
            is_promotional="true",
            ctr="false",
            channel_options={"sms": sms(ttl="300")},
        )
        status, answer, _ = await raw(
            http, "POST", url("/json2/simple/"), json.dumps(data), {**AUTH, **headers}
        )
        assert status == 200, (phone, answer)
    phones = sorted(m.phone for m in await messages_of(gateway, acme))
    assert phones == [f"7965111111{n}" for n in range(1, 6)]
    # Numbers as extra_id, a UTF-8 BOM, a trailing slash on a read.
    data = body(extra_id=12345)
    status, answer, _ = await raw(
        http, "POST", url("/json2/simple"), b"\xef\xbb\xbf" + json.dumps(data).encode()
    )
    assert status == 200
    status, report = await get(http, "/dr/external/12345/simple/")
    assert status == 200 and report["message_id"] == answer["message_id"]


async def test_start_time_without_offset_is_provider_local(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    moscow = datetime.now(ZoneInfo("Europe/Moscow")).replace(microsecond=0) + timedelta(hours=2)
    status, answer = await post(
        http, "/json2/simple", body(start_time=moscow.strftime("%Y-%m-%d %H:%M:%S"))
    )
    assert status == 200
    message = await gateway.store.get_message(acme, answer["message_id"])
    assert message is not None and message.not_before == moscow.timestamp()
    status, report = await get(http, f"/dr/{answer['message_id']}/advanced")
    assert report["reports"][0]["status"] == -1
    assert (report["started"], report["processing"], report["delivered_via"]) == (
        False,
        False,
        "msghub",
    )
    assert report["channels"] == [{"channel": "sms", "ttl": 300}]
    status, report = await get(http, f"/dr/{answer['message_id']}/simple")
    assert report["status"] == -1 and "substatus" not in report
    assert report["last_partner"] == "msghub"


async def test_unknown_ids_paths_and_methods(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    for path in (
        "/dr/9f60ac8f-e721-5027-b838-e6fcb95fcd7a/simple",
        "/dr/nothing/advanced",
        "/dr/external/AD-0/simple",
        "/json2/job/66591729-cb47-5ef9-964b-949dc6aff84f",
    ):
        status, answer = await get(http, path)
        assert (status, answer) == (404, error(10010, "Not found")), path
    status, answer, _ = await raw(http, "GET", url("/json2/whatever"))
    assert (status, answer) == (404, error(10010, "Not found"))
    status, answer, r = await raw(http, "GET", url("/json2/simple"))
    assert (status, answer) == (405, error(10013, "Bad request"))
    assert r.headers["Allow"] == "POST"


DEPTH = 1000  # issue 19: about 1,000 levels answered 500


@pytest.mark.parametrize(
    "data",
    [
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"x":' * DEPTH + b"1" + b"}" * DEPTH,
        b'{"unknown":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        b'{"recipients": [{"name":' + b"[" * DEPTH + b"]" * DEPTH + b"}]}",
    ],
    ids=["arrays", "objects", "unknown-field", "template-variable"],
)
async def test_deeply_nested_json_is_invalid_json(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, data: bytes
) -> None:
    for path in ("/json2/simple", "/json2/batch", "/json2/broadcast/sync", "/json", ""):
        status, answer, _ = await raw(http, "POST", url(path), data)
        assert (status, answer) == (400, error(10004, "Invalid JSON")), path


@pytest.mark.parametrize(
    "path",
    [
        "/msghub",
        "/msghub/",
        "/msghub/api",
        "/msghub/api/",
        "/msghub/nothing/here",
        "/msghub/api/acme/json3/simple",
        "/msghub/api/acme/dr/x/y/z",
        "/msghub/api/acme/json2/job/status/x/y",
        "/msghub/api/acme/dr/%2F%0A/simple",  # a newline: Starlette's {rest:path} missed it
        "/msghub/%0A",
    ],
)
async def test_unknown_paths_under_msghub_answer_in_its_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, path: str
) -> None:
    for method in ("GET", "POST", "DELETE"):
        async with http.request(method, path, headers=AUTH, allow_redirects=False) as r:
            assert (r.status, await r.json(content_type=None)) == (404, error(10010, "Not found"))


@both_backends
async def test_ids_with_a_nul_character_are_not_found(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    """PostgreSQL refuses a NUL even in a lookup (it answered 500): no such id can exist."""
    for path in ("/dr/a%00b/simple", "/dr/external/a%00b/advanced", "/json2/job/%00"):
        status, answer = await get(http, path)
        assert (status, answer) == (404, error(10010, "Not found")), path
    status, answer = await post(http, "/json2/simple", body(extra_id="a\x00b"))
    assert (status, answer) == (400, error(10006, "Invalid parameter value: extra_id"))


async def test_huge_body(make_gateway: Callable[..., Awaitable[Gateway]]) -> None:
    gateway = await make_gateway(max_body=100_000)
    await gateway.provision(account("acme"))
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        status, answer, _ = await raw(http, "POST", url("/json2/batch"), b" " * 100_001)
        assert (status, answer) == (413, error(10007, "Request entity too large"))


async def test_store_unavailable_is_503(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("disk gone")

    facade = gateway.app.app.state.gateway
    monkeypatch.setattr(facade, "submit", down)
    status, answer = await post(http, "/json2/simple", body())
    assert (status, answer) == (503, error(10011, "Service temporarily unavailable"))


async def test_balance_and_stop_list(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    (account_id,) = await gateway.provision(account("acme", balance="0.5"))
    await gateway.store.stoplist_add(account_id, ["79650000000"])
    status, answer = await post(http, "/json2/simple", body(phone_number=79650000000))
    assert (status, answer) == (400, error(36028, "Phone number in stop list"))
    status, answer = await post(http, "/json2/simple", body(extra_id="one"))
    assert status == 200
    status, answer = await post(http, "/json2/simple", body(extra_id="two"))
    assert (status, answer) == (402, error(36029, "Insufficient funds"))
    status, answer = await post(
        http,
        "/json2/batch/sync",
        {
            "messages": [{"phone_number": 79650000001, "text": "hi"}],
            "channels": ["sms"],
            "channel_options": {"sms": sms()},
        },
    )
    assert status == 200
    assert answer["messages"][0]["error_code"] == 36029


async def test_bulk_request_errors(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    common = {"channels": ["sms"], "channel_options": {"sms": sms()}}
    status, answer = await post(http, "/json2/batch", {"messages": [], **common})
    assert (status, answer) == (400, error(10005, "Mandatory parameter missing: messages"))
    status, answer = await post(http, "/json2/broadcast", {"recipients": [1], **common})
    assert (status, answer) == (400, error(10006, "Invalid parameter value: recipients"))
    no_text = {"channels": ["sms"], "channel_options": {"sms": sms(text=None)}}
    status, answer = await post(
        http, "/json2/broadcast", {"recipients": [{"phone_number": 1}], **no_text}
    )
    assert (status, answer) == (
        400,
        error(10005, "Mandatory parameter missing: channel_options.sms.text"),
    )
    # Async: every recipient refused -> the first refusal; some refused -> kept in the report.
    status, answer = await post(
        http, "/json2/batch", {"messages": [{"phone_number": "x", "text": "a"}], **common}
    )
    assert (status, answer) == (400, error(36024, "Phone number incorrect"))
    status, answer = await post(
        http,
        "/json2/batch",
        {
            "messages": [
                {"phone_number": "x", "extra_id": "bad", "text": "a"},
                {"phone_number": 79651111111, "extra_id": "good", "text": "a"},
                {"phone_number": 79651111112, "extra_id": "empty", "text": ""},
            ],
            **common,
        },
    )
    assert status == 200
    status, report = await get(http, f"/json2/job/{answer['job_id']}")
    items = {m["extra_id"]: m for m in report["messages"]}
    assert items["good"]["accepted"] is True
    assert {k: v for k, v in items["bad"].items() if k != "time"} == {
        "phone_number": "x",
        "extra_id": "bad",
        "processed": False,
        "accepted": False,
        "msg_status": 36024,  # issue 19: a failed entry's msg_status is its error code
        "error_text": "Phone number incorrect",
        "error_code": 36024,
    }
    assert items["empty"]["error_code"] == 36025
