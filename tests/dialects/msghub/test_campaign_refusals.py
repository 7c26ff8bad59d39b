"""Recipients refused at acceptance in a campaign: kept by the core as rejected messages of the
campaign (keep_rejected), listed after the others by its report, never pushed, never holding
their extra_id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from smsgate.core.status import Status
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

from .conftest import get, messages_of, post, sms


def campaign(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"messages": messages, "channels": ["sms"], "channel_options": {"sms": sms()}, **extra}


BAD_PHONE = {"phone_number": "x", "extra_id": "bad", "text": "a"}
NO_TEXT = {"phone_number": 79651111113, "extra_id": "no-text"}
GOOD = {"phone_number": 79651111111, "extra_id": "good", "text": "a"}
FAR = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S+00:00")


def refused(phone: str, extra_id: str, code: int, text: str) -> dict[str, Any]:
    return {
        "phone_number": phone,
        "extra_id": extra_id,
        "processed": False,
        "accepted": False,
        "msg_status": code,  # issue 19: a failed entry's msg_status is its error code
        "error_text": text,
        "error_code": code,
    }


@both_backends
async def test_refusals_follow_the_messages_in_request_order_and_are_stored_rejected(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    (acme,) = await gateway.provision(account("acme", callback_urls={"msghub": receiver.url}))
    no_text = {**NO_TEXT, "text": None}
    body = campaign([BAD_PHONE, GOOD, no_text], channel_options={"sms": sms(text=None)})
    status, answer = await post(http, "/json2/batch", body)
    assert status == 200
    status, report = await get(http, f"/json2/job/{answer['job_id']}")
    assert status == 200
    items = report["messages"]
    assert [m["extra_id"] for m in items] == ["good", "bad", "no-text"]
    assert items[0]["accepted"] is True
    assert items[1]["time"] == items[2]["time"]  # both: the campaign's creation
    assert [{k: v for k, v in m.items() if k != "time"} for m in items[1:]] == [
        refused("x", "bad", 36024, "Phone number incorrect"),
        refused("79651111113", "no-text", 10005, "Mandatory parameter missing: text"),
    ]
    stored = [m for m in await messages_of(gateway, acme) if m.job_id is not None]
    assert sorted(m.status for m in stored).count(Status.REJECTED) == 2
    # Only the accepted message is pushed; the refused ones were answered already.
    (push,) = await receiver.wait_count(1)
    assert push.json()["extra_id"] == "good"
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1


@both_backends
async def test_a_refused_recipient_does_not_take_its_extra_id(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, _ = await post(http, "/json2/batch", campaign([BAD_PHONE, GOOD]))
    assert status == 200
    fixed = {**BAD_PHONE, "phone_number": 79651111112}
    status, answer = await post(http, "/json2/batch", campaign([fixed]))
    assert status == 200 and "job_id" in answer


@both_backends
async def test_a_repeated_campaign_answers_its_first_job_and_lists_a_refusal_once(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, first = await post(http, "/json2/batch", campaign([GOOD, BAD_PHONE]))
    assert status == 200
    status, again = await post(http, "/json2/batch", campaign([GOOD, BAD_PHONE]))
    assert (status, again) == (200, first)
    status, report = await get(http, f"/json2/job/{first['job_id']}")
    assert [m["extra_id"] for m in report["messages"]] == ["good", "bad"]


@both_backends
async def test_a_campaign_whose_shared_options_are_refused_keeps_nothing(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    # Every valid recipient is refused by the core (start_time beyond its horizon): the answer
    # is the first refusal in request order, and no extra_id is taken.
    status, answer = await post(http, "/json2/batch", campaign([BAD_PHONE, GOOD], start_time=FAR))
    assert (status, answer) == (400, {"error_code": 36024, "error_text": "Phone number incorrect"})
    status, answer = await post(http, "/json2/batch", campaign([GOOD], start_time=FAR))
    assert (status, answer) == (400, {"error_code": 10015, "error_text": "Invalid start_time"})
    assert await messages_of(gateway, acme) == []
    status, answer = await post(http, "/json2/batch", campaign([BAD_PHONE, GOOD]))
    assert status == 200
    status, report = await get(http, f"/json2/job/{answer['job_id']}")
    assert [m["accepted"] for m in report["messages"]] == [True, False]
