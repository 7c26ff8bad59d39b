"""core.routing_views: the table as the admin API shows it reads back as the same table, and
`explain_route` (what `smsgate routes test` and the admin API answer) ranks a route's
connectors as the engine's `hop_order` does wherever the order is not left to weights."""

from __future__ import annotations

import msgspec
from hypothesis import example, given
from hypothesis import strategies as st

from smsgate.core.routing import (
    Hop,
    Price,
    Route,
    RoutingTable,
    Rule,
    hop_order,
    parse_table,
    route_for,
)
from smsgate.core.routing_views import explain_route, table_document
from tests.core.test_routing import dest

NAMES = st.sampled_from(["kz", "tj", "night", "a.b", "x-1", "simulator"])
CONNECTORS = st.sampled_from(["kcell", "oson", "smsc", "simulator"])
HOPS = st.builds(Hop, connector=CONNECTORS, priority=st.integers(-3, 3), weight=st.integers(0, 5))
RULES = st.builds(
    Rule,
    name=NAMES,
    route=NAMES,
    countries=st.lists(st.sampled_from(["KZ", "TJ", "RU"]), max_size=2),
    prefixes=st.lists(st.sampled_from(["7", "+77", "992"]), max_size=2),
    accounts=st.lists(st.integers(1, 9), max_size=2),
    senders=st.lists(st.sampled_from(["Bank", "Shop"]), max_size=2),
    dialects=st.lists(st.sampled_from(["native", "smsc"]), max_size=2),
    hours=st.sampled_from(["", "08:00-20:00", "22:00-06:00"]),
    utc_offset=st.sampled_from(["+00:00", "+05:00", "-03:30"]),
)
ROUTES = st.builds(
    Route,
    name=NAMES,
    connectors=st.lists(HOPS, min_size=1, max_size=4),
    strategy=st.sampled_from(["priority", "least_cost"]),
    tps=st.integers(0, 100),
)
PRICES = st.builds(
    Price,
    connector=CONNECTORS,
    price=st.integers(0, 10**9),
    prefix=st.sampled_from(["", "7", "+7701", "992"]),
    country=st.sampled_from(["", "KZ", "RU"]),
)
TABLES = st.builds(
    RoutingTable,
    rules=st.lists(RULES, max_size=4),
    routes=st.lists(ROUTES, max_size=4),
    prices=st.lists(PRICES, max_size=4),
)


@given(TABLES)
def test_the_document_reads_back_as_the_same_table(table: RoutingTable) -> None:
    document = table_document(table)
    assert parse_table(document) == table
    # and through JSON, as the admin API sends and takes it
    assert parse_table(msgspec.json.decode(msgspec.json.encode(document))) == table
    assert all(isinstance(p["price"], str) for p in document["prices"])


def test_prices_are_written_as_the_toml_gives_them() -> None:
    table = RoutingTable(prices=[Price(connector="kcell", price=31_000, prefix="77")])
    assert table_document(table)["prices"] == [
        {"connector": "kcell", "price": "0.031", "prefix": "77", "country": ""}
    ]


@example([Hop(connector="a", weight=0), Hop(connector="b")], "priority", [], "77011234567")
@given(
    st.lists(HOPS, min_size=1, max_size=5),
    st.sampled_from(["priority", "least_cost"]),
    st.lists(PRICES, max_size=5),
    st.sampled_from(["77011234567", "79161234567", "992927123456"]),
)
def test_explain_ranks_as_the_engine_where_weights_do_not_decide(
    hops: list[Hop], strategy: str, prices: list[Price], phone: str
) -> None:
    route = Route(name="r", connectors=hops, strategy=strategy)  # type: ignore[arg-type]
    table = RoutingTable(rules=[Rule(name="any", route="r")], routes=[route], prices=prices)
    region = {"7701": "KZ", "7916": "RU"}.get(phone[:4], "TJ")
    to = dest(phone=phone, region=region)
    choice = explain_route(table, to, "simulator", "")
    shown = [h.connector for h in choice.hops]
    assert sorted(shown) == sorted({h.connector for h in hops})  # each once
    engine = hop_order(route, to, prices, lambda: 0.5)  # the same draw for every hop
    if len({h.weight for h in hops if h.weight > 0}) <= 1:  # then no weight orders a rank
        assert shown == engine
    else:  # the same ranks in the same order; within one, the engine's draw decides
        rank = {
            c: min((h.priority, h.weight == 0) for h in hops if h.connector == c) for c in shown
        }
        if strategy == "priority":
            assert [rank[c] for c in shown] == sorted(rank[c] for c in shown)
            assert [rank[c] for c in engine] == [rank[c] for c in shown]


def test_no_rule_takes_the_default_route_else_the_default_connector() -> None:
    table = RoutingTable(
        rules=[Rule(name="tj", countries=["TJ"], route="tj")],
        routes=[
            Route(name="tj", connectors=[Hop(connector="oson")]),
            Route(name="rest", connectors=[Hop(connector="smsc")]),
        ],
    )
    ru = dest(phone="79161234567", region="RU")
    rule, route = route_for(table, ru, "rest")
    choice = explain_route(table, ru, "simulator", "rest")
    assert (choice.rule, choice.route) == (rule, route) == (None, table.routes[1])
    assert [h.connector for h in choice.hops] == ["smsc"]
    alone = explain_route(table, ru, "simulator", "")
    assert (alone.route, alone.hops, alone.default) == (None, [], "simulator")


def test_least_cost_puts_unpriced_last_and_shows_each_price() -> None:
    table = RoutingTable(
        routes=[
            Route(
                name="r",
                strategy="least_cost",
                connectors=[Hop(connector="a"), Hop(connector="b", priority=5), Hop(connector="c")],
            )
        ],
        prices=[Price(connector="b", price=10), Price(connector="c", price=20, country="KZ")],
    )
    choice = explain_route(table, dest(), "simulator", "r")
    assert [(h.connector, h.price) for h in choice.hops] == [("b", 10), ("c", 20), ("a", None)]
