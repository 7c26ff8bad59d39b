"""What public third-party MsgHub clients do, as issue 19 describes them: MTS-Belarus clients
(`api_mts`) and a Perl billing plugin reading reports, legacy Hyber clients (ts-hyber) posting
one message to the older path, a Java client with an empty `alpha_name`, clients that hard-code
the host root, and `api_mts` polling a campaign until every recipient is listed."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from smsgate.connectors.simulator import SimulatorConfig
from smsgate.dialects.msghub.settings import MsgHubConfig
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

from .conftest import AUTH, basic, get, messages_of, post, sms

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FAILING = "7965222"  # the simulator's fail_prefixes: these numbers end undelivered
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S+00:00")


def api_mts_delivered(entry: dict[str, Any]) -> bool:
    """api_mts files a message as delivered only so; anything else as failed (and resends it)."""
    return (
        entry.get("msg_status") == 23011
        and entry.get("status") == 2
        and entry.get("substatus") == 23
    )


def perl_plugin_reads(entry: dict[str, Any]) -> None:
    """The Perl billing plugin dies when an entry has neither field."""
    assert "msg_status" in entry or "error_code" in entry, entry


def batch(*phones: int, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"phone_number": p, "extra_id": f"x-{p}", "text": f"Hello {p}"} for p in phones
        ],
        "channels": ["sms"],
        "channel_options": {"sms": sms(text=None)},
        **extra,
    }


async def final_report(
    http: aiohttp.ClientSession, gateway: Gateway, path: str, n: int, user: str = "acme"
) -> Any:
    """The campaign report once it lists `n` entries, none of them still being delivered."""
    report: Any = {}

    async def done() -> bool:
        nonlocal report
        status, report = await get(http, path, client_id=user, headers=basic(user))
        assert status == 200, report
        entries = report["messages"]
        return len(entries) == n and all(e.get("status", 3) != 1 for e in entries)

    await gateway.wait_for(done)
    return report


# Job status path ------------------------------------------------------------------------------
async def test_api_mts_polls_the_job_status_path(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, answer = await post(http, "/json2/batch", batch(79651111111, 79651111112))
    assert status == 200
    job_id = answer["job_id"]
    report = await final_report(http, gateway, f"/json2/job/status/{job_id}", 2)
    assert [api_mts_delivered(e) for e in report["messages"]] == [True, True]
    for path in (f"/json2/job/status/{job_id}/", f"/json2/job/{job_id}"):
        assert await get(http, path) == (200, report)
    status, answer = await get(http, "/json2/job/status/00000000-0000-0000-0000-000000000000")
    assert (status, answer) == (404, {"error_code": 10010, "error_text": "Not found"})
    status, answer = await get(http, f"/json2/job/status/{job_id}", headers=basic("acme", "no"))
    assert status == 401 and answer["error_code"] == 10001


# msg_status -----------------------------------------------------------------------------------
async def test_msg_status_in_every_report_pulled_and_pushed(
    make_gateway: Callable[..., Awaitable[Gateway]], receiver: Receiver
) -> None:
    gateway = await make_gateway(simulator=SimulatorConfig(dr_delay=0.01, fail_prefixes=[FAILING]))
    await gateway.provision(
        account("acme"),
        account("bulk", settings={"msghub": {"dr_batch_size": 2, "dr_batch_interval": 0.2}}),
    )
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        for user in ("acme", "bulk"):
            body = batch(79651111111, 79652222222, callback_url=f"{receiver.url}/{user}")
            status, answer = await post(
                http, "/json2/batch", body, client_id=user, headers=basic(user)
            )
            assert status == 200, answer
            job = await final_report(http, gateway, f"/json2/job/{answer['job_id']}", 2, user)
            delivered, failed = sorted(job["messages"], key=lambda e: e["phone_number"])
            assert api_mts_delivered(delivered)
            assert delivered["msg_status"] == delivered["msghub_status"] == 23011
            assert not api_mts_delivered(failed)
            assert failed["msg_status"] == failed["error_code"]
            assert failed["error_code"] // 1000 == 36  # a delivery error, not a request error
            for entry in (delivered, failed):
                perl_plugin_reads(entry)
                for kind in ("simple", "advanced"):
                    status, dr = await get(
                        http,
                        f"/dr/{entry['message_id']}/{kind}",
                        client_id=user,
                        headers=basic(user),
                    )
                    assert status == 200
                    for report in dr["reports"] if kind == "advanced" else [dr]:
                        perl_plugin_reads(report)
                        assert report["msg_status"] == report["msghub_status"]
                        assert api_mts_delivered(report) == (entry is delivered)
    pushes = await receiver.wait_count(3)  # two single reports, then one batch of two
    single = [p.json() for p in pushes if p.path == "/acme"]
    (batched,) = [p.json() for p in pushes if p.path == "/bulk"]
    assert len(single) == 2 and isinstance(batched, list) and len(batched) == 2
    for report in [*single, *batched]:
        assert report["msg_status"] == report["msghub_status"]
        assert api_mts_delivered(report) == str(report["number"]).startswith("79651")


async def test_msg_status_before_the_status_is_final(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    """A scheduled message: status -1 in the DRs, and still a field the Perl plugin can read."""
    status, answer = await post(http, "/json2/batch", batch(79651111111, start_time=TOMORROW))
    assert status == 200
    status, job = await get(http, f"/json2/job/{answer['job_id']}")
    (entry,) = job["messages"]
    perl_plugin_reads(entry)
    assert entry["msg_status"] == entry["msghub_status"] and not api_mts_delivered(entry)
    _, simple = await get(http, f"/dr/{entry['message_id']}/simple")
    _, advanced = await get(http, f"/dr/{entry['message_id']}/advanced")
    for report in (simple, *advanced["reports"]):
        assert report["status"] == -1 and "msghub_status" not in report
        perl_plugin_reads(report)
        assert report["msg_status"] == entry["msghub_status"]


# Single message on the older path -------------------------------------------------------------
HYBER = {
    "phone_number": 79651111111,
    "extra_id": "hyber-1",
    "channels": ["sms"],
    "channel_options": {"sms": {"text": "Hello from Hyber", "alpha_name": "Test", "ttl": 300}},
}


@both_backends
async def test_legacy_hyber_single_message_on_the_older_path(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    status, answer = await post(http, "", HYBER)
    assert status == 200, answer
    assert set(answer) == {"message_id"} and UUID.match(answer["message_id"])
    (stored,) = await messages_of(gateway, acme)
    assert (stored.id, stored.phone, stored.text, stored.sender, stored.client_ref) == (
        answer["message_id"],
        "79651111111",
        "Hello from Hyber",
        "Test",
        "hyber-1",
    )
    # A repeat answers as json2/simple does: the same message, nothing sent again.
    assert await post(http, "/", HYBER) == (200, answer)
    assert len(await messages_of(gateway, acme)) == 1
    # Its refusals are json2/simple's.
    status, refused = await post(http, "", {**HYBER, "phone_number": "7965abc", "extra_id": "h2"})
    assert (status, refused) == (400, {"error_code": 36024, "error_text": "Phone number incorrect"})
    # With neither shape, the older path still asks for recipients.
    status, refused = await post(http, "", {k: v for k, v in HYBER.items() if k != "phone_number"})
    assert (status, refused) == (
        400,
        {"error_code": 10005, "error_text": "Mandatory parameter missing: recipients"},
    )


# Empty alpha_name ---------------------------------------------------------------------------
def java_client(**changes: Any) -> dict[str, Any]:
    return {**HYBER, "extra_id": None, "channel_options": {"sms": sms(alpha_name="")}, **changes}


async def test_empty_alpha_name_takes_the_account_default_sender(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(
        account("solo", senders=["Solo"]),
        account("acme", settings={"msghub": {"default_sender": "ACME"}}),
        account("wide", settings={"default_sender": "Test"}),
        account("many"),  # two senders, no default
    )
    for user, sender in (("solo", "Solo"), ("acme", "ACME"), ("wide", "Test")):
        for path, body in (
            ("/json2/simple", java_client()),
            ("/json2/batch/sync", batch(79651111111)),
        ):
            if path.endswith("sync"):
                body["channel_options"]["sms"]["alpha_name"] = ""
            status, answer = await post(http, path, body, client_id=user, headers=basic(user))
            assert status == 200, (user, path, answer)
            message_id = answer.get("message_id") or answer["messages"][0]["message_id"]
            stored = await gateway.store.get_message(
                (await gateway.store.account_by_name(user)).id,  # type: ignore[union-attr]
                message_id,
            )
            assert stored is not None and stored.sender == sender
    missing = {
        "error_code": 10005,
        "error_text": "Mandatory parameter missing: channel_options.sms.alpha_name",
    }
    status, answer = await post(
        http, "/json2/simple", java_client(), client_id="many", headers=basic("many")
    )
    assert (status, answer) == (400, missing)
    # Left out altogether, it stays mandatory (the seed's rule), default or not.
    body = java_client(channel_options={"sms": sms(alpha_name=None)})
    status, answer = await post(
        http, "/json2/simple", body, client_id="solo", headers=basic("solo")
    )
    assert (status, answer) == (400, missing)


# Host root ----------------------------------------------------------------------------------
async def test_routes_at_the_host_root_when_configured(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway(msghub=MsgHubConfig(mount_at_root=True))
    await gateway.provision(account("acme"))
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        body = {**HYBER, "extra_id": "root-1"}
        async with http.post("/acme/json2/simple", json=body, headers=AUTH) as r:
            assert r.status == 200
            message_id = (await r.json())["message_id"]
        for path in (f"/acme/dr/{message_id}/simple", "/acme/dr/external/root-1/simple"):
            async with http.get(path, headers=AUTH) as r:
                assert r.status == 200 and (await r.json())["message_id"] == message_id
        async with http.get("/acme/json2/job/nope", headers=AUTH) as r:
            assert (r.status, await r.json()) == (
                404,
                {"error_code": 10010, "error_text": "Not found"},
            )
        async with http.post("/msghub/api/acme/json2/simple", json=HYBER, headers=AUTH) as r:
            assert r.status == 200
        # The rest of the server keeps its paths.
        async with http.get("/healthz") as r:
            assert r.status == 200
        async with http.post("/json", data=b"{}") as r:  # mysmpp's endpoint, not a client_id
            assert "error_text" not in await r.json(content_type=None)


async def test_no_routes_at_the_host_root_by_default(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    async with http.post("/acme/json2/simple", json=HYBER, headers=AUTH) as r:
        assert r.status == 404
        assert "error_code" not in await r.json(content_type=None)
    assert not await messages_of(gateway, acme)


# Campaign reports listing only final entries ----------------------------------------------------
@both_backends
async def test_campaign_reports_list_only_final_entries_when_asked(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """api_mts stops at the first report that lists every recipient: with the setting, a
    recipient is listed once its status is final (a refusal at acceptance is final)."""
    await gateway.provision(
        account("acme", settings={"msghub": {"job_report_final_only": True}}), account("other")
    )
    later = batch(79651111111, start_time=TOMORROW)
    later["messages"].append({"phone_number": "x", "extra_id": "bad", "text": "a"})
    status, answer = await post(http, "/json2/batch", later)
    assert status == 200
    status, report = await get(http, f"/json2/job/{answer['job_id']}")
    assert status == 200
    assert [(e["extra_id"], e["accepted"]) for e in report["messages"]] == [("bad", False)]
    # Sent now: listed once final, all of them, each as delivered.
    status, answer = await post(http, "/json2/batch", batch(79651111112, 79651111113))
    report = await final_report(http, gateway, f"/json2/job/status/{answer['job_id']}", 2)
    assert all(api_mts_delivered(e) for e in report["messages"])
    # Without the setting, the scheduled recipient is listed at once, as before.
    other = basic("other")
    status, answer = await post(http, "/json2/batch", later, client_id="other", headers=other)
    status, report = await get(
        http, f"/json2/job/{answer['job_id']}", client_id="other", headers=other
    )
    assert [(e["extra_id"], e.get("status")) for e in report["messages"]] == [
        ("x-79651111111", 1),
        ("bad", None),
    ]
