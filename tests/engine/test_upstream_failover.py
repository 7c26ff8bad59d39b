"""The Router (engine/upstreams.py) with in-process connectors: which connector gets a message,
failover on retryable refusals only, never on an unknown outcome, breakers, route TPS, DR
matching per connector, recovery through the connector that had the message.

Each fake connector keeps what it was handed, so every test counts: a message is handed twice
only where the first connector certainly refused it. The same faults over real sockets, against
fake providers, are in tests/engine/test_upstream_chain.py."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from smsgate.connectors.base import Connector, Incoming, OutcomeUnknown, ReportSink
from smsgate.core.errors import ErrorCode
from smsgate.core.models import Message, Report
from smsgate.core.routing import BreakerPolicy, Hop, Price, Route, RoutingTable, Rule
from smsgate.core.status import Status
from smsgate.engine.upstreams import CarrierIdSink, Router, resolve_carrier_ids
from smsgate.store.base import Store

_ids = itertools.count()


def msg(phone: str = "77011234567", account_id: int = 1, sender: str = "Bank") -> Message:
    n = next(_ids)
    return Message(
        id=f"m{n:05d}",
        account_id=account_id,
        dialect="native",
        phone=phone,
        text=f"text {n}",
        encoding="gsm7",
        segments=1,
        sender=sender,
    )


class Fake(Connector):
    """A carrier in process. `mode`: take, refuse (retryable: it did not take it), reject
    (final), unknown (took it, then no answer), lost (never took it, no answer)."""

    def __init__(self, name: str, mode: str = "take", delay: float = 0.0) -> None:
        self.name = name
        self.mode = mode
        self.delay = delay
        self.handed: list[str] = []  # every message id handed over, in order
        self.taken: dict[str, str] = {}  # message id -> carrier id: what the carrier has
        self.sink: ReportSink | None = None
        self.started = self.stopped = False

    async def start(self, sink: ReportSink) -> None:
        self.sink, self.started = sink, True

    async def stop(self) -> None:
        self.stopped = True

    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        self.handed += [m.id for m in messages]
        if self.delay:
            await asyncio.sleep(self.delay)
        now = time.time()
        if self.mode in ("take", "unknown"):
            for m in messages:
                self.taken[m.id] = f"{self.name}-{len(self.taken) + 1}"
        if self.mode == "take":
            return [
                Report(
                    message_id=m.id, status=Status.SUBMITTED, carrier_id=self.taken[m.id], at=now
                )
                for m in messages
            ]
        if self.mode in ("unknown", "lost"):
            raise OutcomeUnknown(known=[], unknown=list(messages), detail="TimeoutError")
        code = ErrorCode.UNAVAILABLE if self.mode == "refuse" else ErrorCode.UNKNOWN_SUBSCRIBER
        return [
            Report(
                message_id=m.id,
                status=Status.REJECTED,
                error_code=code.value,
                carrier_error=f"{self.name}: {self.mode}",
                at=now,
            )
            for m in messages
        ]

    async def recover(self, messages: Sequence[Message]) -> tuple[list[Report], list[Message]]:
        now = time.time()
        found = [
            Report(message_id=m.id, status=Status.SUBMITTED, carrier_id=self.taken[m.id], at=now)
            for m in messages
            if m.id in self.taken
        ]
        return found, [m for m in messages if m.id not in self.taken]

    async def balance(self) -> int | None:
        return 1_500_000 if self.name == "kcell" else None


class Recorder:
    def __init__(self) -> None:
        self.received: list[Report] = []

    async def reports(self, reports: Sequence[Report]) -> None:
        self.received += reports

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        pass


ROUTES = RoutingTable(
    rules=[
        Rule(name="tj", route="tj", countries=["TJ"]),
        Rule(name="kz", route="kz", prefixes=["77"]),
    ],
    routes=[
        Route(name="kz", connectors=[Hop(connector="kcell"), Hop(connector="smsc", priority=1)]),
        Route(name="tj", connectors=[Hop(connector="oson")]),
    ],
)
FAST_BREAKER = BreakerPolicy(window=30, min_requests=3, error_rate=0.5, slow=0.2, cooldown=0.3)


async def router(
    store: Store, table: RoutingTable = ROUTES, **modes: str
) -> tuple[Router, dict[str, Fake]]:
    fakes = {
        name: Fake(name, modes.get(name, "take")) for name in ("simulator", "kcell", "smsc", "oson")
    }
    await store.routing_apply(table)
    r = Router(store, fakes, default="simulator", breaker=FAST_BREAKER, reload=0.05)
    await r.start(Recorder())
    return r, fakes


async def test_rules_pick_the_route_and_no_rule_the_default(store: Store) -> None:
    r, fakes = await router(store)
    kz, tj, ru = msg("77011234567"), msg("992927123456"), msg("79161234567")
    reports = await r.submit([kz, tj, ru])
    assert {x.message_id: x.status for x in reports} == dict.fromkeys(
        [kz.id, tj.id, ru.id], Status.SUBMITTED
    )
    assert (fakes["kcell"].handed, fakes["oson"].handed, fakes["simulator"].handed) == (
        [kz.id],
        [tj.id],
        [ru.id],
    )
    assert fakes["smsc"].handed == []
    routes = await store.routes_of([kz.id, tj.id, ru.id])
    assert {k: (v.connector, v.carrier_id) for k, v in routes.items()} == {
        kz.id: ("kcell", "kcell-1"),
        tj.id: ("oson", "oson-1"),
        ru.id: ("simulator", "simulator-1"),
    }
    await r.stop()
    assert all(f.started and f.stopped for f in fakes.values())


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_retryable_refusal_fails_over_once(store: Store) -> None:
    r, fakes = await router(store, kcell="refuse")
    batch = [msg() for _ in range(5)]
    before = sample("smsgate_routing_failovers_total", connector="kcell")
    reports = await r.submit(batch)
    assert sample("smsgate_routing_failovers_total", connector="kcell") == before + 5
    assert [x.status for x in reports] == [Status.SUBMITTED] * 5
    assert fakes["kcell"].handed == [m.id for m in batch]  # each tried once there
    assert fakes["smsc"].handed == [m.id for m in batch]  # and once on the next
    assert {v.connector for v in (await store.routes_of([m.id for m in batch])).values()} == {
        "smsc"
    }
    await r.stop()


async def test_final_refusal_is_not_failed_over(store: Store) -> None:
    r, fakes = await router(store, kcell="reject")
    m = msg()
    [report] = await r.submit([m])
    assert (report.status, report.error_code) == (Status.REJECTED, "unknown_subscriber")
    assert fakes["smsc"].handed == []
    await r.stop()


async def test_unknown_outcome_is_never_failed_over(store: Store) -> None:
    """kcell took them and did not answer: sending them to smsc would send them twice."""
    r, fakes = await router(store, kcell="unknown")
    kz, tj = msg(), msg("992927123456")
    with pytest.raises(OutcomeUnknown) as caught:
        await r.submit([kz, tj])
    assert [m.id for m in caught.value.unknown] == [kz.id]
    assert [x.message_id for x in caught.value.known] == [tj.id]  # the other route's answer
    assert fakes["smsc"].handed == []
    # the dispatcher then recovers them: asked of kcell, which has it; nothing is resent
    reports, resend = await r.recover(caught.value.unknown)
    assert [(x.message_id, x.carrier_id) for x in reports] == [(kz.id, "kcell-1")]
    assert resend == []
    assert (await store.routes_of([kz.id]))[kz.id].carrier_id == "kcell-1"
    await r.stop()


async def test_recover_asks_the_connector_that_had_each_message(store: Store) -> None:
    r, fakes = await router(store, kcell="lost", oson="unknown")
    kz, tj, ru = msg(), msg("992927123456"), msg("79161234567")
    with pytest.raises(OutcomeUnknown):
        await r.submit([kz, tj])
    fakes["simulator"].taken[ru.id] = "sim-9"  # before routing existed: no route recorded
    reports, resend = await r.recover([kz, tj, ru])
    assert sorted((x.message_id, x.carrier_id) for x in reports) == sorted(
        [(tj.id, "oson-1"), (ru.id, "sim-9")]
    )
    assert resend == [kz]  # kcell never got it: sent again (by the dispatcher, routed anew)
    await r.stop()


async def test_every_connector_refusing_queues_the_message_again(store: Store) -> None:
    r, fakes = await router(store, kcell="refuse", smsc="refuse")
    m = msg()
    before = sample("smsgate_routing_requeued_total")
    [report] = await r.submit([m])
    assert sample("smsgate_routing_requeued_total") == before + 1
    assert report.status is Status.QUEUED
    assert (report.error_code, report.carrier_error) == ("unavailable", "smsc: refuse")
    assert (fakes["kcell"].handed, fakes["smsc"].handed) == ([m.id], [m.id])
    await r.stop()


async def test_breaker_skips_a_failing_connector_then_probes_it(store: Store) -> None:
    r, fakes = await router(store, kcell="refuse")
    for _ in range(3):  # three refused batches: the breaker opens (3 of 3 bad)
        await r.submit([msg()])
    assert len(fakes["kcell"].handed) == 3
    assert r.breaker_is_open("kcell", time.time())
    assert sample("smsgate_routing_breaker_open", connector="kcell") == 1
    m = msg()
    [report] = await r.submit([m])
    assert report.status is Status.SUBMITTED
    assert m.id not in fakes["kcell"].handed and m.id in fakes["smsc"].handed
    await asyncio.sleep(FAST_BREAKER.cooldown)
    fakes["kcell"].mode = "take"
    probe = msg()
    await r.submit([probe])  # half open: the probe goes to kcell, and closes the breaker
    assert fakes["kcell"].handed[-1] == probe.id
    assert not r.breaker_is_open("kcell", time.time())
    await r.stop()


async def test_slow_answers_open_the_breaker(store: Store) -> None:
    r, fakes = await router(store)
    fakes["kcell"].delay = FAST_BREAKER.slow + 0.05
    await r.submit([msg(), msg()])  # one batch: one slow outcome
    await r.submit([msg()])
    await r.submit([msg()])
    assert r.breaker_is_open("kcell", time.time())
    fakes["kcell"].delay = 0
    m = msg()
    await r.submit([m])
    assert m.id in fakes["smsc"].handed
    await r.stop()


async def test_all_breakers_open_queues_the_message(store: Store) -> None:
    table = RoutingTable(
        rules=[Rule(name="kz", route="kz", prefixes=["77"])],
        routes=[Route(name="kz", connectors=[Hop(connector="kcell")])],
    )
    r, fakes = await router(store, table, kcell="refuse")
    for _ in range(3):
        await r.submit([msg()])
    m = msg()
    [report] = await r.submit([m])
    assert (report.status, report.error_code) == (Status.QUEUED, None)  # breaker: not tried
    assert m.id not in fakes["kcell"].handed
    await r.stop()


async def test_least_cost_route(store: Store) -> None:
    table = RoutingTable(
        rules=[Rule(name="any", route="cheap")],
        routes=[
            Route(
                name="cheap",
                strategy="least_cost",
                connectors=[Hop(connector="kcell"), Hop(connector="smsc")],
            )
        ],
        prices=[
            Price(connector="kcell", country="KZ", price=30_000),
            Price(connector="smsc", country="KZ", price=20_000),
            Price(connector="kcell", country="TJ", price=10_000),
            Price(connector="smsc", country="TJ", price=40_000),
        ],
    )
    r, fakes = await router(store, table)
    kz, tj = msg(), msg("992927123456")
    await r.submit([kz, tj])
    assert (fakes["smsc"].handed, fakes["kcell"].handed) == ([kz.id], [tj.id])
    await r.stop()


async def test_route_tps_spaces_the_messages(store: Store) -> None:
    table = RoutingTable(
        rules=[Rule(name="kz", route="kz")],
        routes=[Route(name="kz", tps=5, connectors=[Hop(connector="kcell")])],
    )
    r, fakes = await router(store, table)
    started = time.monotonic()
    await r.submit([msg() for _ in range(10)])  # 5 at once (a second's burst), 5 a second later
    assert time.monotonic() - started >= 0.9
    assert len(fakes["kcell"].handed) == 10
    await r.stop()


async def test_a_new_table_is_picked_up(store: Store) -> None:
    r, fakes = await router(store)
    await store.routing_apply(RoutingTable())  # routes removed: everything to the default
    await asyncio.sleep(0.2)
    m = msg()
    await r.submit([m])
    assert fakes["simulator"].handed == [m.id]
    await r.stop()


async def test_carrier_ids_are_matched_per_connector(store: Store) -> None:
    r, _ = await router(store)
    kz, tj = msg(), msg("992927123456")
    await r.submit([kz, tj])
    await store.routes_mark("oson", [(tj.id, "kcell-1")], time.time())  # the same id, elsewhere
    sink = Recorder()
    now = time.time()
    loose = [Report(message_id="", status=Status.DELIVERED, carrier_id="kcell-1", at=now)]
    await CarrierIdSink("kcell", sink, store).reports(loose)
    await CarrierIdSink("oson", sink, store).reports(loose)
    await CarrierIdSink("smsc", sink, store).reports(loose)  # none of smsc's: dropped, logged
    assert [x.message_id for x in sink.received] == [kz.id, tj.id]
    await r.stop()


async def test_a_dr_that_overtakes_its_submit_waits_for_it(store: Store) -> None:
    now = time.time()
    loose = [Report(message_id="", status=Status.DELIVERED, carrier_id="c-7", at=now)]
    later = asyncio.create_task(resolve_carrier_ids(store, "kcell", loose, wait=2.0))
    await asyncio.sleep(0.2)
    await store.routes_mark("kcell", [("m-late", "c-7")], now)
    [named] = await later
    assert named.message_id == "m-late"


async def test_balances(store: Store) -> None:
    r, _ = await router(store)
    assert await r.balances() == {"simulator": None, "kcell": 1_500_000, "smsc": None, "oson": None}
    await r.stop()


async def test_regions_are_looked_up_only_when_the_table_asks(store: Store) -> None:
    by_prefix = RoutingTable(
        rules=[Rule(name="kz", route="kz", prefixes=["77"])],
        routes=[Route(name="kz", connectors=[Hop(connector="kcell")])],
    )
    r, _ = await router(store, by_prefix)
    assert r.choose(msg(), time.time()).hops == ["kcell"]
    assert r._regions is False
    await store.routing_apply(ROUTES)  # a country rule
    await r.load_table()
    assert r._regions is True
    assert r.choose(msg("992927123456"), time.time()).hops == ["oson"]
    await r.stop()
