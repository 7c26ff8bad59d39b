"""Each limit of the seed at its boundary and one past it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.support.servers import Gateway, account

from .conftest import post, simple_body, sms


@pytest.fixture
async def wide(gateway: Gateway) -> int:
    """An account whose senders include an 11-character alpha name."""
    (account_id,) = await gateway.provision(
        account("acme", senders=["Test", "ABCDEFGHIJK", "ABCDEFGHIJKL"])
    )
    return account_id


def body(**changes: Any) -> dict[str, Any]:
    changes.setdefault("start_time", None)
    changes.setdefault("callback_url", None)
    return {k: v for k, v in simple_body(**changes).items() if v is not None}


@pytest.mark.parametrize(
    ("field", "limit", "error"),
    [
        ("extra_id", 64, "Invalid parameter value: extra_id"),
        ("tag", 64, "Invalid parameter value: tag"),
    ],
)
async def test_string_lengths(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int, field: str, limit: int, error: str
) -> None:
    status, answer = await post(http, "/json2/simple", body(**{field: "x" * limit}))
    assert status == 200, answer
    status, answer = await post(http, "/json2/simple", body(**{field: "y" * (limit + 1)}))
    assert (status, answer) == (400, {"error_code": 10006, "error_text": error})


async def test_callback_url_length(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int
) -> None:
    base = "https://example.com/"
    ok = base + "a" * (256 - len(base))
    status, answer = await post(http, "/json2/simple", body(callback_url=ok, extra_id="1"))
    assert status == 200, answer
    status, answer = await post(http, "/json2/simple", body(callback_url=ok + "a", extra_id="2"))
    assert (status, answer) == (
        400,
        {"error_code": 10006, "error_text": "Invalid parameter value: callback_url"},
    )


async def test_alpha_name_length_and_alphabet(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int
) -> None:
    status, _ = await post(
        http, "/json2/simple", body(channel_options={"sms": sms(alpha_name="ABCDEFGHIJK")})
    )
    assert status == 200
    for alpha in ("ABCDEFGHIJKL", "Тест"):
        status, answer = await post(
            http, "/json2/simple", body(channel_options={"sms": sms(alpha_name=alpha)})
        )
        assert (status, answer) == (
            400,
            {
                "error_code": 10006,
                "error_text": "Invalid parameter value: channel_options.sms.alpha_name",
            },
        )


@pytest.mark.parametrize(
    ("ttl", "ok"), [(299, False), (300, True), (259200, True), (259201, False)]
)
async def test_ttl_range(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int, ttl: int, ok: bool
) -> None:
    status, answer = await post(http, "/json2/simple", body(channel_options={"sms": sms(ttl=ttl)}))
    if ok:
        assert status == 200, answer
        message = await gateway.store.get_message(wide, answer["message_id"])
        assert message is not None and message.expires_at is not None
        assert round(message.expires_at - message.created_at) == ttl
    else:
        assert (status, answer) == (400, {"error_code": 10016, "error_text": "Invalid ttl"})


@pytest.mark.parametrize(
    ("char", "limit"),
    [("ж", 1005), ("a", 2295)],
    ids=["cyrillic-1005", "latin-2295"],
)
async def test_text_length(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int, char: str, limit: int
) -> None:
    status, answer = await post(
        http, "/json2/simple", body(channel_options={"sms": sms(text=char * limit)})
    )
    assert status == 200, answer
    message = await gateway.store.get_message(wide, answer["message_id"])
    assert message is not None and message.segments == 15
    status, answer = await post(
        http,
        "/json2/simple",
        body(extra_id="other", channel_options={"sms": sms(text=char * (limit + 1))}),
    )
    assert (status, answer) == (
        400,
        {"error_code": 36026, "error_text": "Message text is too long"},
    )


async def test_latin_limit_counts_extension_characters_twice(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int
) -> None:
    text = "{" * 1147 + "a"  # 2295 septets
    status, _ = await post(http, "/json2/simple", body(channel_options={"sms": sms(text=text)}))
    assert status == 200
    status, answer = await post(
        http, "/json2/simple", body(extra_id="b", channel_options={"sms": sms(text=text + "a")})
    )
    assert (status, answer["error_code"]) == (400, 36026)


def broadcast(recipients: list[dict[str, Any]], text: str, **extra: Any) -> dict[str, Any]:
    return {
        "recipients": recipients,
        "channels": ["sms"],
        "channel_options": {"sms": {"text": text, "alpha_name": "Test", "ttl": 300}},
        **extra,
    }


async def test_broadcast_length_bounds_apply_to_each_rendered_text(
    gateway: Gateway, http: aiohttp.ClientSession, wide: int
) -> None:
    recipients = [
        {"phone_number": 79650000001, "v": "ж" * 1340},
        {"phone_number": 79650000002, "v": "ж" * 1341},
        {"phone_number": 79650000003, "v": "a" * 3060},
        {"phone_number": 79650000004, "v": "a" * 3061},
    ]
    status, answer = await post(http, "/json2/broadcast/sync", broadcast(recipients, "%v%"))
    assert status == 200
    assert [m["accepted"] for m in answer["messages"]] == [True, False, True, False]
    assert answer["messages"][1]["error_code"] == 36026
    # The client's own, tighter bounds.
    recipients = [{"phone_number": 79650000005 + n, "v": "a" * n} for n in (4, 5, 10, 11)]
    bounds = {"sms_latin": {"min": 5, "max": 10}}
    status, answer = await post(
        http, "/json2/broadcast/sync", broadcast(recipients, "%v%", **bounds)
    )
    assert [m["accepted"] for m in answer["messages"]] == [False, True, True, False]
    assert answer["messages"][0]["error_code"] == 10006
    assert answer["messages"][3]["error_code"] == 36026


async def test_50000_recipients_accepted_and_one_more_refused(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account("acme", balance="100000"))
    recipients = [
        {"phone_number": 79000000000 + n, "extra_id": f"e{n}", "name": f"N{n}"}
        for n in range(50_000)
    ]
    # Scheduled a day ahead so the dispatcher stays idle while we count.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    extra = {"start_time": tomorrow.strftime("%Y-%m-%d %H:%M:%S+00:00")}
    started = time.perf_counter()
    status, answer = await post(
        http, "/json2/broadcast", broadcast(recipients, "Dear %name%, hello", **extra)
    )
    elapsed = time.perf_counter() - started
    assert status == 200, answer
    print(f"\n50,000-recipient broadcast accepted and committed in {elapsed:.3f} s")
    counts = await gateway.store.get_job(1, answer["job_id"])
    assert counts is not None and counts.by_status == {"scheduled": 50_000}
    recipients.append({"phone_number": 79100000000, "extra_id": "one-more"})
    status, answer = await post(
        http, "/json2/broadcast", broadcast(recipients, "Dear %name%, hello", **extra)
    )
    assert (status, answer) == (400, {"error_code": 10008, "error_text": "Too many recipients"})
