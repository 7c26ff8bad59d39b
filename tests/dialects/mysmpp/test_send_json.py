"""JSON send: the seed's example replayed, mixed batches, limits at their boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import msgspec

from smsgate.core.status import Status
from smsgate.provision import CredentialSpec
from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import Provision, post_json

# The seed's "Example of a sending request", byte for byte (its odd indentation and all).
SEED_BODY = b"""{
    "login": "login",
    "password": "password",
    "token": "token",
    "message": [
        {
            "type_send_1":"sms",
            "sender":"sender 1",
            "text":"message text 1",
            "phones":[
                {
                    "phone":"79612242243",
                    "client_id_sms":"101",
                    "validity_period":"2001-12-31 15:34:54"
                },
                {
                    "phone":"79612242244",
                    "client_id_sms":"102",
                    "validity_period":"2001-12-31 15:34:54"
                }
            ]
        },
        {
            "type_send_1":"sms",
            "sender":" sender 2",
            "text":"message text 2",
            "phones":[
                {
                "phone":"79612242245",
                    "client_id_sms":"103",
                    "validity_period":"2001-12-31 15:34:54"
                }
            ]
        }
    ]
}"""
SEED_REQUEST = msgspec.json.decode(SEED_BODY)

SEED_CREDENTIALS = [
    CredentialSpec(dialect="mysmpp", kind="login", identifier="login", secret="password"),
    CredentialSpec(dialect="mysmpp", kind="token", secret="token"),
]


def body(phones: list[object], **message: object) -> dict[str, object]:
    msg: dict[str, object] = {"type_send_1": "sms", "sender": "ACME", "text": "hello"}
    msg.update(message)
    msg["phones"] = phones
    return {"login": "acme", "password": "acme-pw", "message": [msg]}


async def test_seed_example_replayed(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision(
        "login", credentials=SEED_CREDENTIALS, senders=["sender 1", "sender 2"]
    )
    # Byte for byte, with the seed's Content-Type. Its validity_period (2001-12-31) is long
    # over: the platform sends such a document, so a past value means the default lifetime.
    status, answer = await post_json(http, "/json", SEED_BODY)
    assert status == 200
    # {"information": [{"state": "Status", "id_sms": ...}, ...]}: one entry per phone, in order.
    assert list(answer) == ["information"]
    info = answer["information"]
    assert len(info) == 3
    for entry in info:
        assert set(entry) == {"state", "id_sms"}
        assert entry["state"] == "send"
        assert isinstance(entry["id_sms"], int)  # "id_sms  Int"
    assert len({e["id_sms"] for e in info}) == 3
    stored = await gateway.store.list_messages(account_id, MessageFilter(dialect="mysmpp"))
    by_seq = {m.seq: m for m in stored}
    assert [by_seq[e["id_sms"]].phone for e in info] == [
        "79612242243",
        "79612242244",
        "79612242245",
    ]
    assert [by_seq[e["id_sms"]].client_ref for e in info] == ["101", "102", "103"]
    assert by_seq[info[2]["id_sms"]].sender == "sender 2"  # " sender 2", trimmed
    max_ttl = gateway.app.app.state.gateway.limits.max_ttl
    for m in stored:  # "If not set, the SMS has a maximum lifetime": the core's longest
        assert m.expires_at is not None
        assert abs(m.expires_at - m.created_at - max_ttl) < 2

    # The same document again: client_id_sms 101..103 were used, nothing new is sent.
    status, again = await post_json(http, "/json", SEED_BODY)
    assert status == 200 and again == answer
    assert len(await gateway.store.list_messages(account_id, MessageFilter())) == 3


async def test_validity_period(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision(timezone="Europe/Moscow")
    zone = ZoneInfo("Europe/Moscow")
    soon = (datetime.now(zone) + timedelta(hours=5)).replace(microsecond=0)
    phones = [
        {"phone": "79650000001"},  # none: the maximum lifetime
        {"phone": "79650000002", "validity_period": soon.strftime("%Y-%m-%d %H:%M:%S")},
        {"phone": "79650000003", "validity_period": "2100-01-01 00:00:00"},  # capped
        {"phone": "79650000004", "validity_period": "2001-12-31 15:34:54"},  # past: default
        {"phone": "79650000005", "validity_period": ""},  # empty: none
    ]
    status, answer = await post_json(http, "/json", body(phones))
    assert status == 200 and [e["state"] for e in answer["information"]] == ["send"] * 5
    stored = {m.phone: m for m in await gateway.store.list_messages(account_id, MessageFilter())}
    max_ttl = gateway.app.app.state.gateway.limits.max_ttl
    lifetime = {p: m.expires_at - m.created_at for p, m in stored.items() if m.expires_at}
    assert len(lifetime) == 5
    for phone in ("79650000001", "79650000003", "79650000004", "79650000005"):
        assert abs(lifetime[phone] - max_ttl) < 2, phone
    assert stored["79650000002"].expires_at == soon.timestamp()


async def test_mixed_batch_reports_each_phone_in_order(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    await gateway.store.stoplist_add(account_id, ["79650000002"])
    request = {
        "login": "acme",
        "password": "acme-pw",
        "message": [
            {
                "type_send_1": "sms",
                "sender": "ACME",
                "text": "hi",
                "phones": [
                    {"phone": "79650000001"},
                    {"phone": "79650000002"},  # stop list
                    {"phone": ""},  # no phone
                    {"phone": "7965000000300"},  # 13 digits: fine
                    {"phone": "7965000000312345"},  # 16 digits
                    {"phone": "abc"},
                ],
            },
            {
                "type_send_1": "sms",
                "sender": "Nobody",
                "text": "hi",
                "phones": [{"phone": "79650000008"}],
            },
            {
                "type_send_1": "sms",
                "sender": "ACME",
                "text": "hi",
                "phones": [{"phone": "79650000009"}],
            },
            {"type_send_1": "viber", "sender": "ACME", "text": "hi", "phones": ["79650000004"]},
            {"type_send_1": "sms", "sender": "", "text": "hi", "phones": ["79650000005"]},
            {"type_send_1": "sms", "sender": "ACME", "text": " ", "phones": ["79650000006"]},
            {"type_send_1": "sms", "sender": "Unknown", "text": "hi", "phones": ["79650000007"]},
        ],
    }
    status, answer = await post_json(http, "/json", request)
    assert status == 200
    info = answer["information"]
    assert info[0]["state"] == "send" and isinstance(info[0]["id_sms"], int)
    assert info[1] == {"error": "Phone number is on the stop list"}
    assert info[2] == {"error": "Specify phone number"}
    assert info[3]["state"] == "send"
    assert info[4] == {"error": "Phone number must be less than 15 characters"}
    assert info[5] == {"error": "This destination is closed"}
    assert info[6] == {"error": "There is no such sender"}
    assert info[7]["state"] == "send"
    assert info[8] == {"error": "This destination is closed for you"}  # Viber: not offered
    assert info[9] == {"error": "No sender"}
    assert info[10] == {"error": "No message text"}
    assert info[11] == {"error": "There is no such sender"}
    assert len(info) == 12
    sent = await gateway.store.list_messages(account_id, MessageFilter())
    assert sorted(m.phone for m in sent) == sorted(["79650000001", "79650000009", "7965000000300"])


async def test_sender_length_limits(http: aiohttp.ClientSession, provision: Provision) -> None:
    senders = ["A" * 11, "A" * 12, "1" * 15, "1" * 16, "+" + "1" * 15]
    await provision(senders=senders)
    req = {
        "login": "acme",
        "password": "acme-pw",
        "message": [
            {"sender": s, "text": "t", "phones": [f"7965000010{i}"]} for i, s in enumerate(senders)
        ],
    }
    status, answer = await post_json(http, "/json", req)
    assert status == 200
    too_long = (
        "The sender must not exceed 15 characters for numeric numbers "
        "and 11 characters for alphanumeric numbers"
    )
    info = answer["information"]
    assert info[0]["state"] == "send"
    assert info[1] == {"error": too_long}
    assert info[2]["state"] == "send"
    assert info[3] == {"error": too_long}
    assert info[4]["state"] == "send"


async def test_phone_length_boundary(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    status, answer = await post_json(http, "/json", body(["7" + "1" * 14, "7" + "1" * 15]))
    assert status == 200
    assert answer["information"][0]["state"] == "send"
    assert answer["information"][1] == {"error": "Phone number must be less than 15 characters"}


async def test_text_parts_boundary(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    ten_parts = "a" * (153 * 10)
    status, answer = await post_json(http, "/json", body(["79650000001"], text=ten_parts))
    assert status == 200 and answer["information"][0]["state"] == "send"
    status, answer = await post_json(http, "/json", body(["79650000001"], text=ten_parts + "a"))
    assert status == 200
    assert answer["information"] == [{"error": "SMS text rejected by moderator"}]


async def test_sloppy_phones_and_types(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    phones = [
        {"phone": 79650000001, "client_id_sms": 7},
        {"phone": "+79650000002", "client_id_sms": "8"},
        {"phone": "8 (965) 000-00-03"},
        "79650000004",
        79650000005,
    ]
    status, answer = await post_json(http, "/json", body(phones))
    assert status == 200
    assert all(e["state"] == "send" for e in answer["information"])
    stored = await gateway.store.list_messages(account_id, MessageFilter())
    assert sorted(m.phone for m in stored) == [f"7965000000{i}" for i in range(1, 6)]
    # client_id_sms 7 sent as a number then as a string is the same key.
    status, again = await post_json(
        http, "/json", body([{"phone": 79650000001, "client_id_sms": "7"}])
    )
    assert again["information"][0]["id_sms"] == answer["information"][0]["id_sms"]


async def test_content_types_and_paths(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    for path, content_type in [
        ("/json", "text/json; charset=utf-8;"),
        ("/json/", "application/json"),
        ("/json", " text/plain"),
        ("/json", ""),
    ]:
        status, answer = await post_json(
            http, path, body(["79650000001"]), headers={"Content-Type": content_type}
        )
        assert status == 200, (path, content_type, answer)
        assert answer["information"][0]["state"] == "send"


async def test_flash_and_schedule(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision(timezone="Europe/Moscow")
    tomorrow = datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=1)
    phones = [
        {"phone": "79650000001", "time_send": tomorrow.strftime("%Y-%m-%d %H:%M")},
        {"phone": "79650000002", "time_send": "2100-01-01 10:00"},  # beyond 30 days ahead
        {"phone": "79650000003", "validity_period": "31.12.2030"},  # not the documented form
    ]
    status, answer = await post_json(http, "/json", body(phones, type="flashsms"))
    assert status == 200, answer
    assert answer["information"][0]["state"] == "send"
    assert answer["information"][1:] == [{"error": "Incorrect JSON document format"}] * 2
    (m,) = await gateway.store.list_messages(account_id, MessageFilter())
    assert m.flash and m.status is Status.SCHEDULED
    assert m.not_before == tomorrow.replace(second=0, microsecond=0).timestamp()
