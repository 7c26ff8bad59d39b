"""Status (POST /json/state.php, or /json with id_sms) and balance (/json/balance.php)."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from smsgate.core.status import Status
from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import Provision, post_json

AUTH = {"login": "acme", "password": "acme-pw"}
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")  # "2021-04-26 15:15:03"


async def send(
    http: aiohttp.ClientSession, phones: list[object], auth: dict[str, str] = AUTH
) -> list[int]:
    message = {"type_send_1": "sms", "sender": "ACME", "text": "hello", "phones": phones}
    status, answer = await post_json(http, "/json", {**auth, "message": [message]})
    assert status == 200, answer
    return [e["id_sms"] for e in answer["information"]]


async def test_status_after_delivery(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    ids = await send(http, ["79650000001", "79650000002"])

    async def delivered() -> bool:
        found = await gateway.store.list_messages(account_id, MessageFilter(status="delivered"))
        return len(found) == 2

    await gateway.wait_for(delivered)
    # The documented request: id_sms and detail; the documented answer: an array, one per id.
    status, answer = await post_json(http, "/json/state.php", {**AUTH, "id_sms": ids, "detail": 1})
    assert status == 200
    assert [e["id_sms"] for e in answer] == ids
    for entry in answer:
        assert set(entry) == {"id_sms", "time_change_state", "state", "num_parts", "price"}
        assert entry["state"] == "deliver"
        assert TIME.match(entry["time_change_state"])
        assert entry["num_parts"] == 1 and entry["price"] == 0.5
    # Without detail: no parts or price. One id as a number, as a string, as "a,b".
    for query in (ids[0], str(ids[0]), f"{ids[0]},{ids[1]}"):
        status, answer = await post_json(http, "/json/state.php", {**AUTH, "id_sms": query})
        assert status == 200
        assert set(answer[0]) == {"id_sms", "time_change_state", "state"}
        assert answer[0]["id_sms"] == ids[0]
    # The bare /json path answers a status request too, and takes the array-wrapped form.
    status, answer = await post_json(http, "/json", [{**AUTH, "id_sms": [ids[1]]}])
    assert status == 200 and answer[0]["id_sms"] == ids[1] and answer[0]["state"] == "deliver"


async def test_status_send_has_empty_time(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision(timezone="Europe/Moscow")
    status, answer = await post_json(
        http,
        "/json",
        {
            **AUTH,
            "message": [
                {
                    "sender": "ACME",
                    "text": "later",
                    "phones": [{"phone": "79650000001", "time_send": "2099-01-01 00:00"}],
                }
            ],
        },
    )
    # beyond the schedule horizon: refused for that phone; schedule one within it instead
    assert answer["information"] == [{"error": "Incorrect JSON document format"}]
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    soon = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    status, answer = await post_json(
        http,
        "/json",
        {
            **AUTH,
            "message": [
                {
                    "sender": "ACME",
                    "text": "later",
                    "phones": [{"phone": "79650000001", "time_send": soon}],
                }
            ],
        },
    )
    (id_sms,) = [e["id_sms"] for e in answer["information"]]
    status, answer = await post_json(http, "/json/state.php", {**AUTH, "id_sms": [id_sms]})
    assert status == 200
    assert answer == [{"id_sms": id_sms, "time_change_state": "", "state": "send"}]


async def test_failed_delivery_has_error(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    gateway.engine.connector.config.fail_prefixes = ["7965999"]  # type: ignore[attr-defined]
    (id_sms,) = await send(http, ["79659990001"])

    async def done() -> bool:
        found = await gateway.store.list_messages(account_id, MessageFilter())
        return found[0].status is Status.UNDELIVERED

    await gateway.wait_for(done)
    status, answer = await post_json(http, "/json/state.php", {**AUTH, "id_sms": id_sms})
    assert status == 200
    assert answer[0]["state"] == "not_deliver"
    assert answer[0]["error"] in ("Subscriber is absent", "Unknown subscriber")


async def test_status_isolation_between_accounts(
    http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision("acme")
    await provision("beta")
    (acme_id,) = await send(http, ["79650000001"])
    (beta_id,) = await send(http, ["79650000002"], {"token": "beta-token"})
    status, answer = await post_json(
        http, "/json/state.php", {"token": "beta-token", "id_sms": [acme_id, beta_id, 999999, "x"]}
    )
    assert status == 200
    assert answer[0] == {"id_sms": acme_id, "error": "SMS not found"}
    assert answer[1]["id_sms"] == beta_id and answer[1]["state"] in ("send", "deliver")
    assert answer[2] == {"id_sms": 999999, "error": "SMS not found"}
    assert answer[3] == {"id_sms": "x", "error": "SMS not found"}


async def test_status_needs_ids(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    for ids in ([], "", list(range(1, 1002))):
        status, answer = await post_json(http, "/json/state.php", {**AUTH, "id_sms": ids})
        assert (status, answer) == (200, {"error": "Incorrect JSON document format"})
    status, answer = await post_json(
        http, "/json/state.php", {**AUTH, "id_sms": list(range(1, 1001))}
    )
    assert status == 200 and len(answer) == 1000


async def test_balance(gateway: Gateway, http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(balance="19023.9", price="0.5")
    for path in ("/json/balance.php", "/json"):
        status, answer = await post_json(http, path, AUTH)
        assert status == 200
        assert answer == {
            "money": "19023.9",
            "currency": "RUR",
            "information": [{"type_sms": "sms", "area": "Russia", "num_sms": "38047"}],
        }
    await send(http, ["79650000001", "79650000002"])
    status, answer = await post_json(http, "/json/balance.php", {"token": "acme-token"})
    assert answer["money"] == "19022.9" and answer["information"][0]["num_sms"] == "38045"


async def test_balance_unlimited_when_free(
    http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision(
        balance="1000", price="0", currency="KZT", settings={"mysmpp": {"area": "Kazakhstan"}}
    )
    status, answer = await post_json(http, "/json/balance.php", AUTH)
    assert status == 200
    assert answer == {
        "money": "1000",
        "currency": "KZT",
        "information": [{"type_sms": "sms", "area": "Kazakhstan", "num_sms": "Unlim"}],
    }


async def test_idempotency_under_concurrency(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    phone = {"phone": "79650000001", "client_id_sms": "4242"}
    results = await asyncio.gather(*(send(http, [phone]) for _ in range(50)))
    assert len({ids[0] for ids in results}) == 1
    stored = await gateway.store.list_messages(account_id, MessageFilter())
    assert len(stored) == 1 and stored[0].client_ref == "4242"
    # Charged once: 1000 - 0.5
    status, answer = await post_json(http, "/json/balance.php", AUTH)
    assert status == 200
    assert answer["money"] == "999.5"


async def test_out_of_money_is_per_phone(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(balance="0.5", price="0.5")
    ids = await send(http, ["79650000001"])
    assert isinstance(ids[0], int)
    message = {"sender": "ACME", "text": "hello", "phones": ["79650000002"]}
    status, answer = await post_json(http, "/json", {**AUTH, "message": [message]})
    assert (status, answer) == (200, {"information": [{"error": "Out of SMS"}]})
