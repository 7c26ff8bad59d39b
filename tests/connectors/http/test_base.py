"""What every HTTP upstream connector shares (connectors/http/base.py), seen through MsgHub's:
its settings, limits, connector log, metrics, and how a failure is classified."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, get_args

import msgspec
import pytest
from prometheus_client import REGISTRY

from smsgate.connectors.base import OutcomeUnknown
from smsgate.connectors.http import KINDS, base, build_upstream
from smsgate.connectors.http.base import (
    SENDING,
    HttpConnector,
    UpstreamConfig,
    http_refusal,
    with_acceptance,
)
from smsgate.connectors.http.msghub import MsgHubConnector
from smsgate.connectors.http.settings import Kind
from smsgate.core.errors import ErrorCode, retryable
from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.core.urls import parse_networks
from smsgate.net.http_client import HttpClient, NotSent, ServerDisconnected
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, message
from tests.connectors.http.fakes.base import FakeProvider, Reply, Request
from tests.connectors.http.fakes.msghub import FakeMsgHub
from tests.support.backends import both_backends


@pytest.fixture
async def fake() -> AsyncIterator[FakeMsgHub]:
    async with FakeMsgHub() as f:
        yield f


def config(fake: FakeMsgHub, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "hub", "kind": "msghub", "url": fake.api, "login": "user",
        "password": "pa55-Xq9", "timeout": 1.0, "allow_networks": LOOPBACK,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


# Settings -----------------------------------------------------------------------------------
def test_repr_hides_the_secrets() -> None:
    c = UpstreamConfig(name="a", kind="smsc", url="https://x", login="me", password="pw-1",
                       token="tok-2", dr_secret="sig-3")  # fmt: skip
    shown = repr(c)
    assert "login='me'" in shown and "password=***" in shown and "token=***" in shown
    assert not {"pw-1", "tok-2", "sig-3"} & set(shown.replace("'", " ").split())
    assert "password=''" in repr(UpstreamConfig(name="a", kind="smsc", url="https://x"))


@pytest.mark.parametrize(
    ("fields", "fault"),
    [
        ({"colour": "red"}, "unknown field"),
        ({"kind": "telegram"}, "kind"),
        ({"allow_networks": ["10.0.0.300/8"]}, "not a network"),
        ({"timezone": "Mars/Olympus"}, "not a known zone"),
        ({"timeout": 0}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
        ({"tps": -1}, "tps"),
    ],
)
def test_bad_settings_are_refused_with_their_name(fields: dict[str, Any], fault: str) -> None:
    raw = {"name": "a", "kind": "msghub", "url": "https://x", **fields}
    with pytest.raises((msgspec.ValidationError, ValueError), match=fault):
        msgspec.convert(raw, UpstreamConfig)


def test_every_kind_is_built(store: Store) -> None:
    assert set(KINDS) == set(get_args(Kind))
    for kind in KINDS:
        settings = msgspec.convert({"name": f"u-{kind}", "kind": kind, "url": "https://x"},
                                   UpstreamConfig)  # fmt: skip
        built = build_upstream(settings, store)
        assert isinstance(built, HttpConnector) and built.kind == kind
        assert built.name == f"u-{kind}"


# Classification -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (200, None),
        (201, None),
        (400, None),  # the body says: the provider's own code
        (404, None),
        (401, ErrorCode.UNAVAILABLE),  # our login there: another route may send it
        (403, ErrorCode.UNAVAILABLE),
        (429, ErrorCode.THROTTLED),
        (500, ErrorCode.UNAVAILABLE),
        (502, ErrorCode.UNAVAILABLE),
        (503, ErrorCode.UNAVAILABLE),
    ],
)
def test_what_an_http_status_alone_says(status: int, code: ErrorCode | None) -> None:
    assert http_refusal(status) == code
    assert code is None or retryable(code)


async def test_429_is_a_retryable_throttle(fake: FakeMsgHub, store: Store) -> None:
    fake.error_status = 429
    fake.fail("5xx")
    hub = MsgHubConnector(config(fake), store)
    try:
        [report] = await hub.submit([message(1)])
        assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.THROTTLED)
    finally:
        await hub.stop()


def test_a_delivery_outcome_brings_the_acceptance_it_implies() -> None:
    def r(status: Status) -> Report:
        return Report(message_id="m", status=status, carrier_id="c", at=1.0)

    assert [x.status for x in with_acceptance([r(Status.DELIVERED)])] == [
        Status.SUBMITTED,
        Status.DELIVERED,
    ]
    for status in (Status.REJECTED, Status.SUBMITTED):  # nothing implied
        assert [x.status for x in with_acceptance([r(status)])] == [status]


# The client's part the connectors rely on -------------------------------------------------
class Echo(FakeProvider):
    def handle(self, request: Request) -> Reply:
        return Reply(200, b"ok")


async def test_client_tells_not_sent_from_written_and_unanswered() -> None:
    client = HttpClient(timeout=0.5, allowed=parse_networks(LOOPBACK), retry_stale=False)
    try:
        async with Echo() as echo:
            assert await client.request("POST", echo.url, {}, b"1") == (200, b"ok")
            echo.fail("reset")  # on the kept connection: read, then cut
            with pytest.raises(ServerDisconnected) as cut:
                await client.request("POST", echo.url, {}, b"2")
            assert not isinstance(cut.value, NotSent)
            assert len(echo.requests) == 2  # not sent once more on a new connection
            await echo.refuse()
            with pytest.raises(NotSent):
                await client.request("POST", echo.url, {}, b"3")
    finally:
        await client.close()


# Limits -------------------------------------------------------------------------------------
async def test_concurrency_is_bounded(fake: FakeMsgHub, store: Store) -> None:
    fake.fault, fake.slow_delay = "slow", 0.1
    hub = MsgHubConnector(config(fake, concurrency=2, batch=1), store)
    try:
        batch = [message(i, sender=f"S{i}") for i in range(6)]  # six requests
        reports = await hub.submit(batch)
        assert [r.status for r in reports] == [Status.SUBMITTED] * 6
        assert fake.most_in_flight == 2
        assert fake.connections == 2  # kept alive and reused
    finally:
        await hub.stop()


async def test_tps_paces_the_requests(fake: FakeMsgHub, store: Store) -> None:
    hub = MsgHubConnector(config(fake, tps=20, batch=1), store)
    try:
        # 10 messages at 20/s: the last leaves 9 gaps of 50 ms after the first is paced. Counted
        # from before the first (a loaded machine may delay the first arrival, never the pacing).
        started = asyncio.get_running_loop().time()
        await hub.submit([message(i, sender=f"S{i}") for i in range(10)])
        assert max(fake.arrivals) - started >= 0.4
        assert max(fake.arrivals) - min(fake.arrivals) < 1.5
    finally:
        await hub.stop()
    hub = MsgHubConnector(config(fake, tps=20, batch=10), store)
    try:
        # One request of 4 messages takes 200 ms of the budget, counted from when it was paced
        # (not from its answer, which a loaded machine may delay): the next waits for the rest.
        started = time.monotonic()
        await hub.submit([message(20 + i) for i in range(4)])
        await hub.submit([message(30)])
        assert time.monotonic() - started >= 0.2
    finally:
        await hub.stop()


# The connector log --------------------------------------------------------------------------
@both_backends
async def test_each_message_is_logged_before_its_request(fake: FakeMsgHub, store: Store) -> None:
    fake.fail("timeout")
    hub = MsgHubConnector(config(fake), store)
    try:
        m = message(1)
        sending = asyncio.create_task(hub.submit([m]))
        async with asyncio.timeout(2):
            while not fake.requests:
                await asyncio.sleep(0.005)
        [line] = await store.connector_log_find("hub", [m.id])  # what a kill -9 leaves
        assert (line.outcome, line.carrier_id) == (SENDING, "")
        with pytest.raises(OutcomeUnknown):
            await sending
    finally:
        await hub.stop()


# Metrics ------------------------------------------------------------------------------------
def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_requests_and_messages_are_counted(fake: FakeMsgHub, store: Store) -> None:
    hub = MsgHubConnector(config(fake, name="counted"), store)
    base = {"connector": "counted", "provider": "msghub"}
    try:
        fake.fail("5xx")
        fake.fail("timeout")
        await hub.submit([message(1)])
        with pytest.raises(OutcomeUnknown):
            await hub.submit([message(2)])
        await hub.submit([message(3), message(4)])
        requests = "smsgate_upstream_requests_total"
        assert sample(requests, **base, request="send", outcome="http_5xx") == 1
        assert sample(requests, **base, request="send", outcome="timeout") == 1
        assert sample(requests, **base, request="batch", outcome="ok") == 1
        messages = "smsgate_upstream_messages_total"
        assert sample(messages, **base, result="retryable") == 1
        assert sample(messages, **base, result="unknown") == 1
        assert sample(messages, **base, result="submitted") == 2
        assert sample("smsgate_upstream_request_seconds_count", **base, request="batch") == 1
    finally:
        await hub.stop()


# Recover ------------------------------------------------------------------------------------
async def test_recover_asks_again_then_sends_again(
    fake: FakeMsgHub, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "LOOKUP_PAUSE", 0.01)
    hub = MsgHubConnector(config(fake), store)
    try:
        taken, lost = message(1), message(2)
        fake.fail("timeout")
        with pytest.raises(OutcomeUnknown):
            await hub.submit([taken])
        fake.fail("5xx", 2)  # the first two lookups: the provider cannot say
        reports, resend = await hub.recover([taken])
        assert resend == [] and reports[-1].status is Status.DELIVERED
        fake.fail("5xx", 3)  # three times: sent again, at least once
        reports, resend = await hub.recover([lost])
        assert (reports, resend) == ([], [lost])
        assert sample("smsgate_upstream_messages_total", connector="hub", provider="msghub",
                      result="resent") >= 1  # fmt: skip
    finally:
        await hub.stop()


class Broken(MsgHubConnector):
    async def send(self, group: Any) -> list[Report]:
        raise KeyError("a bug")


async def test_a_bug_in_sending_is_an_unknown_outcome(fake: FakeMsgHub, store: Store) -> None:
    broken = Broken(config(fake), store)
    m = message(1)
    with pytest.raises(OutcomeUnknown) as raised:
        await broken.submit([m])
    assert raised.value.unknown == [m] and "KeyError" in raised.value.detail


async def test_only_texts_are_sent(fake: FakeMsgHub, store: Store) -> None:
    hub = MsgHubConnector(config(fake), store)
    try:
        hlr = message(1, encoding="hlr", text="", segments=1)
        data = message(2, encoding="binary", text="0a0b")
        odd = message(3, phone="+7965abc")
        text = message(4)
        reports = await hub.submit([hlr, data, odd, text])
        assert {r.message_id: (r.status, r.error_code) for r in reports} == {
            hlr.id: (Status.REJECTED, ErrorCode.UNSUPPORTED_CHANNEL),
            data.id: (Status.REJECTED, ErrorCode.UNSUPPORTED_CHANNEL),
            odd.id: (Status.REJECTED, ErrorCode.INVALID_PHONE),
            text.id: (Status.SUBMITTED, None),
        }
        [request] = fake.requests
        assert request.path.endswith("/json2/simple")  # the one text left: a single send
    finally:
        await hub.stop()
