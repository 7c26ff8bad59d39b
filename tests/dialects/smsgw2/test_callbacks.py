"""Pushes to a real receiver: Basic auth, MO URL and text limit, carrier refusals, answers."""

from __future__ import annotations

import base64
from datetime import timedelta

import aiohttp
import pytest

from smsgate.dialects.smsgw2.callbacks import Smsgw2Callbacks
from tests.support.servers import Gateway, Receiver

from .conftest import BASE, KZ, kz_account, message

NATIVE = {"Authorization": "Bearer kz-token"}


async def test_basic_auth_to_the_clients_url(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    settings = {
        "smsgw2": {
            "default_time_bounds": "full",
            "callback_user": "client",
            "callback_password": "s3cret",
        }
    }
    await gateway.provision(
        kz_account(callback_urls={"smsgw2": receiver.url + "/dr"}, settings=settings)
    )
    r = await http.post(BASE + "/messages", json=message("auth"), headers=KZ)
    assert r.status == 201
    (call,) = await receiver.wait_count(1)
    assert call.headers["Authorization"] == "Basic " + base64.b64encode(b"client:s3cret").decode()


async def test_no_auth_header_unless_configured(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    await http.post(BASE + "/messages", json=message("plain"), headers=KZ)
    (call,) = await receiver.wait_count(1)
    assert "Authorization" not in call.headers


async def test_mo_goes_to_its_own_url_and_is_cut_at_1500(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(
        kz_account(
            callback_urls={"smsgw2": receiver.url + "/dr", "smsgw2.mo": receiver.url + "/mo"}
        )
    )
    for text in ("a" * 1500, "b" * 1501):
        r = await http.post(
            "/simulator/incoming",
            json={"from": "+77771234567", "to": "9090", "text": text},
            headers=NATIVE,
        )
        assert r.status == 202
    calls = await receiver.wait_count(2)
    assert {c.path for c in calls} == {"/mo"}
    texts = sorted(item["text"] for c in calls for item in c.json()["incoming_report"])
    assert texts == ["a" * 1500, "b" * 1500]
    first = calls[0].json()["incoming_report"][0]
    assert (first["sender"], first["recipient"], first["rn_code"]) == ("77771234567", "9090", "01")
    assert first["segment_count"] == 10  # 1,500 GSM characters: 10 parts of 153


async def test_carrier_refusal_is_rejected_with_its_code(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    await http.post(BASE + "/messages", json=message("rej", recipient="77050000000"), headers=KZ)
    (call,) = await receiver.wait_count(1)
    (report,) = call.json()["delivery_report"]
    assert (report["status"], report["error_code"]) == ("REJECTED", "69")
    assert report["error_message"] == "submit_sm or submit_multi failed"
    assert report["rn_code"] == "01" and report["sent_time"] is None


async def test_cancelled_message_is_reported_deleted(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:

    from .test_messages import grid_slot, stamp

    r = await http.post(
        BASE + "/messages",
        json=message("del", schedule=stamp(grid_slot(timedelta(hours=2)))),
        headers=KZ,
    )
    message_id = (await r.json())["message_id"]
    assert (await http.delete(f"{BASE}/messages/{message_id}", headers=KZ)).status == 204
    (call,) = await receiver.wait_count(1)
    (report,) = call.json()["delivery_report"]
    assert report["status"] == "DELETED" and report["message_id"] == int(message_id)


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (204, b"", "ok"),
        (204, b"anything", "ok"),
        (200, b"OK", "ok"),
        (201, b"OK", "ok"),
        (200, b"OK\n", "ok"),
        (200, b'"OK"', "ok"),
        (200, b"NOT OK", "retry"),
        (200, b"", "retry"),
        (201, b"{}", "retry"),
        (202, b"OK", "retry"),
        (404, b"OK", "retry"),
        (500, b"OK", "retry"),
    ],
)
def test_verdict(status: int, body: bytes, verdict: str) -> None:
    assert Smsgw2Callbacks().verdict(status, body) == verdict
