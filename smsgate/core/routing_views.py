"""The routing table and a number's route as data to show, pure: what `smsgate routes test`
prints and `POST /admin/api/routes/test` answers come from `explain_route` alone, and the
admin API's table is `table_document`, the shape `parse_table` (the TOML import) takes back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .money import from_micros
from .routing import Destination, Hop, Route, RoutingTable, Rule, price_of, route_for


class RankedHop(msgspec.Struct, kw_only=True, frozen=True):
    """One connector of the chosen route, in the order tried; `price` None: unpriced."""

    connector: str
    priority: int
    weight: int
    price: int | None


class RouteChoice(msgspec.Struct, kw_only=True, frozen=True):
    """Which rule and route a message takes (`route` None: the `default` connector alone) and
    its connectors in order (equal ranks are shared by weight at random when sending, and
    open breakers are skipped: both are the running engine's)."""

    phone: str
    region: str | None
    rule: Rule | None
    route: Route | None
    default: str
    hops: list[RankedHop]


def explain_route(
    table: RoutingTable, dest: Destination, default: str, default_route: str
) -> RouteChoice:
    """Where a message to `dest` goes: the first matching rule, its route (else
    `default_route`, else the `default` connector) and the route's hops ranked as the engine
    ranks them (`hop_order`: least cost, the cheapest first and unpriced last; then priority;
    weight 0 last of its rank) except that equal ranks keep the route's order here, where
    the engine shares them at random by weight."""
    rule, route = route_for(table, dest, default_route)
    hops: list[RankedHop] = []
    if route is not None:

        def rank(hop: Hop) -> tuple[float, ...]:
            last = hop.weight == 0  # weight 0: after the others of its rank, as hop_order
            if route.strategy != "least_cost":
                return (hop.priority, last)
            cost = price_of(table.prices, hop.connector, dest)
            return (float("inf") if cost is None else cost, hop.priority, last)

        seen: set[str] = set()
        for hop in sorted(route.connectors, key=rank):
            if hop.connector in seen:  # named twice: tried once, at its best rank (hop_order)
                continue
            seen.add(hop.connector)
            price = price_of(table.prices, hop.connector, dest)
            hops.append(
                RankedHop(
                    connector=hop.connector, priority=hop.priority, weight=hop.weight, price=price
                )
            )
    return RouteChoice(
        phone=dest.phone, region=dest.region, rule=rule, route=route, default=default, hops=hops
    )


def price_text(micros: int) -> str:
    """A price as the TOML import takes it: 31000 -> "0.031"."""
    return f"{from_micros(micros):f}"


def table_document(table: RoutingTable) -> dict[str, Any]:
    """The table as TOML's `[[rules]]`, `[[routes]]` and `[[prices]]` give it (prices in
    currency units, as strings): `parse_table(table_document(t)) == t`."""
    document: dict[str, Any] = msgspec.to_builtins(table)
    document["prices"] = [
        {**price, "price": price_text(p.price)}
        for price, p in zip(document["prices"], table.prices, strict=True)
    ]
    return document
