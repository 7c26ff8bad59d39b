"""The routes part of the store on both backends: which connector had a message (DR matching
per connector, recovery), and the routing table applied idempotently."""

from __future__ import annotations

import time

from smsgate.core.routing import Hop, Price, Route, RoutingTable, Rule, parse_table
from smsgate.store.base import Store


async def test_marks_match_carrier_ids_per_connector(store: Store, other: Store) -> None:
    t = time.time()
    await store.routes_mark("kcell", [("m1", None), ("m2", None)], t)  # before the request
    assert await store.routes_by_carrier("kcell", ["42"]) == {}
    await store.routes_mark("kcell", [("m1", "42")], t + 1)
    await store.routes_mark("oson", [("m3", "42")], t + 1)  # the same id from another provider
    assert await other.routes_by_carrier("kcell", ["42", "43"]) == {"42": "m1"}
    assert await other.routes_by_carrier("oson", ["42"]) == {"42": "m3"}
    assert await other.routes_by_carrier("smsc", ["42"]) == {}
    await store.routes_mark("oson", [("m2", None)], t + 2)  # failed over: the last one counts
    found = await other.routes_of(["m1", "m2", "m9"])
    assert sorted(found) == ["m1", "m2"]
    assert (found["m1"].connector, found["m1"].carrier_id, found["m1"].at) == ("kcell", "42", t + 1)
    assert (found["m2"].connector, found["m2"].carrier_id) == ("oson", None)
    assert await store.routes_of([]) == {} and await store.routes_by_carrier("kcell", []) == {}


TOML_TABLE = {
    "rules": [
        {"name": "kz", "route": "kz", "prefixes": ["+77"]},
        {"name": "tj", "route": "tj", "countries": ["TJ"], "hours": "08:00-20:00"},
    ],
    "routes": [
        {"name": "kz", "connectors": [{"connector": "kcell"}, {"connector": "smsc"}]},
        {"name": "tj", "connectors": [{"connector": "oson"}], "strategy": "least_cost", "tps": 5},
    ],
    "prices": [{"connector": "kcell", "prefix": "7701", "price": "0.015"}],
}


async def test_routing_table_applied_idempotently(store: Store, other: Store) -> None:
    assert await store.routing_table() == RoutingTable()
    table = parse_table(TOML_TABLE)
    first = await store.routing_apply(table)
    assert first.added == ["price kcell 7701", "route kz", "route tj", "rule kz", "rule tj"]
    assert await other.routing_table() == table
    assert (await other.routing_apply(table)).empty  # the same file twice: no change
    swapped = RoutingTable(
        rules=[table.rules[1], table.rules[0]],  # moved: both rules change
        routes=[table.routes[0]],  # tj removed
        prices=[Price(connector="kcell", prefix="7701", price=20_000)],
    )
    diff = await store.routing_apply(swapped)
    assert (diff.added, diff.changed, diff.removed) == (
        [],
        ["price kcell 7701", "rule kz", "rule tj"],
        ["route tj"],
    )
    assert await other.routing_table() == swapped
    assert (await store.routing_apply(RoutingTable())).removed  # emptied
    assert await store.routing_table() == RoutingTable()


async def test_table_keeps_every_field(store: Store) -> None:
    rule = Rule(
        name="night",
        route="r",
        countries=["KZ"],
        prefixes=["7701"],
        accounts=[3],
        senders=["Bank"],
        dialects=["smsc"],
        hours="22:00-06:00",
        utc_offset="+05:00",
    )
    route = Route(
        name="r",
        connectors=[Hop(connector="a", priority=1, weight=3), Hop(connector="b", weight=0)],
        strategy="least_cost",
        tps=7,
    )
    table = RoutingTable(rules=[rule], routes=[route], prices=[Price(connector="a", price=1)])
    await store.routing_apply(table)
    assert await store.routing_table() == table
