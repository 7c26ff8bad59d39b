"""Account isolation and idempotency of extra_id."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.servers import Gateway, account

from .conftest import basic, get, messages_of, post, simple_body, sms


async def test_account_b_cannot_read_account_a(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    a, b = await gateway.provision(account("alpha"), account("beta"))
    auth_a, auth_b = basic("alpha"), basic("beta")
    data = simple_body(start_time=None, callback_url=None)
    status, sent = await post(http, "/json2/simple", data, client_id="alpha", headers=auth_a)
    assert status == 200
    status, job = await post(
        http,
        "/json2/batch",
        {
            "messages": [{"phone_number": 79651111112, "extra_id": "j1", "text": "hi"}],
            "channels": ["sms"],
            "channel_options": {"sms": sms()},
        },
        client_id="alpha",
        headers=auth_a,
    )
    assert status == 200
    message_id, job_id = sent["message_id"], job["job_id"]
    paths = [
        f"/dr/{message_id}/simple",
        f"/dr/{message_id}/advanced",
        "/dr/external/AD-6640-7006/simple",
        "/dr/external/AD-6640-7006/advanced",
        f"/json2/job/{job_id}",
    ]
    for path in paths:
        status, _ = await get(http, path, client_id="alpha", headers=auth_a)
        assert status == 200, path
        status, answer = await get(http, path, client_id="beta", headers=auth_b)
        assert (status, answer["error_code"]) == (404, 10010), path
        status, answer = await get(http, path, client_id="alpha", headers=auth_b)
        assert (status, answer["error_code"]) == (403, 10002), path
    # The same extra_id in another account is another message.
    status, other = await post(http, "/json2/simple", data, client_id="beta", headers=auth_b)
    assert status == 200 and other["message_id"] != message_id
    assert len(await messages_of(gateway, a)) == 2 and len(await messages_of(gateway, b)) == 1


async def test_50_concurrent_repeats_of_one_extra_id_make_one_message(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    data = simple_body(start_time=None, callback_url=None)
    answers = await asyncio.gather(*(post(http, "/json2/simple", data) for _ in range(50)))
    assert {status for status, _ in answers} == {200}
    assert len({a["message_id"] for _, a in answers}) == 1
    assert len(await messages_of(gateway, acme)) == 1


async def test_repeats_inside_and_across_bulk_requests(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    data = {
        "messages": [
            {"phone_number": 79651111111, "extra_id": "r1", "text": "hi"},
            {"phone_number": 79651111111, "extra_id": "r1", "text": "hi"},
            {"phone_number": 79651111112, "extra_id": "r2", "text": "hi"},
        ],
        "channels": ["sms"],
        "channel_options": {"sms": sms()},
    }
    status, first = await post(http, "/json2/batch", data)
    assert status == 200
    status, again = await post(http, "/json2/batch", data)
    assert (status, again) == (200, first)  # a repeated campaign answers with its job
    status, sync = await post(http, "/json2/batch/sync", data)
    ids = [m["message_id"] for m in sync["messages"]]
    assert ids[0] == ids[1] != ids[2]
    assert len(await messages_of(gateway, acme)) == 2
    # A simple send repeating a batch's extra_id gets that message.
    status, simple = await post(
        http, "/json2/simple", simple_body(start_time=None, callback_url=None, extra_id="r2")
    )
    assert simple["message_id"] == ids[2]


async def test_async_campaign_of_only_repeated_simple_sends(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, _ = await post(
        http, "/json2/simple", simple_body(start_time=None, callback_url=None, extra_id="d1")
    )
    assert status == 200
    data = {
        "messages": [{"phone_number": 79651111111, "extra_id": "d1", "text": "hi"}],
        "channels": ["sms"],
        "channel_options": {"sms": sms()},
    }
    status, answer = await post(http, "/json2/batch", data)
    assert (status, answer) == (409, {"error_code": 10014, "error_text": "Duplicate extra_id"})
    assert len(await messages_of(gateway, acme)) == 1
