"""Southbound routing, pure: which route a message takes, and in which order its connectors.

A routing table has ordered **rules** (the first that matches a message wins), named **routes**
(connectors with a priority and a weight, picked by priority or by least cost) and a **price
table** (what a connector charges for a prefix or a country). The circuit breaker's state is a
function of a connector's recent outcomes. No I/O here: the engine (`engine/upstreams.py`) calls
these with what it has measured, the store keeps the table, `smsgate routes import` diffs it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

import msgspec

from .money import to_micros
from .phone import country_of

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_OFFSET = re.compile(r"^([+-])(\d\d):([0-5]\d)$")


class Hop(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One connector of a route. Lower priority first; equal priorities share by weight."""

    connector: Name
    priority: int = 0
    weight: Annotated[int, msgspec.Meta(ge=0)] = 1  # 0: only when the others failed


class Route(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    name: Name
    connectors: list[Hop]
    # priority: by Hop.priority then weight; least_cost: the cheapest for the number first
    # (priced by the table; an unpriced connector after every priced one), then by priority.
    strategy: Literal["priority", "least_cost"] = "priority"
    tps: Annotated[int, msgspec.Meta(ge=0)] = 0  # messages per second over the route; 0: no limit


class Rule(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Matches when every condition given matches (an empty list matches anything)."""

    name: Name
    route: Name
    countries: list[str] = []  # ISO regions of the destination ("KZ", "TJ")
    prefixes: list[str] = []  # leading digits of the E.164 number ("77", "99290")
    accounts: list[int] = []
    senders: list[str] = []
    dialects: list[str] = []  # the dialect the message came in by
    hours: str = ""  # "08:00-20:00" local time at `utc_offset`; wraps past midnight if reversed
    utc_offset: str = "+00:00"

    def __post_init__(self) -> None:
        if self.hours and not _HOURS.match(self.hours):
            raise ValueError(f"rule {self.name}: hours {self.hours!r} is not HH:MM-HH:MM")
        if not _OFFSET.match(self.utc_offset):
            raise ValueError(f"rule {self.name}: utc_offset {self.utc_offset!r} is not +HH:MM")
        for prefix in self.prefixes:
            if not prefix.lstrip("+").isdigit():
                raise ValueError(f"rule {self.name}: prefix {prefix!r} is not digits")


class Price(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """What `connector` charges per SMS (micro-units) to a prefix, else a country, else any."""

    connector: Name
    price: int
    prefix: str = ""
    country: str = ""


class RoutingTable(msgspec.Struct, kw_only=True, frozen=True):
    rules: list[Rule] = []
    routes: list[Route] = []
    prices: list[Price] = []

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def route_names(self) -> list[str]:
        return [r.name for r in self.routes]


class Destination(msgspec.Struct, kw_only=True, frozen=True):
    """What rules look at in one message."""

    phone: str  # E.164 digits, no '+'
    region: str | None
    account_id: int
    sender: str | None
    dialect: str
    minute_utc: int  # minutes past midnight UTC, now


def destination(
    phone: str,
    account_id: int,
    sender: str | None,
    dialect: str,
    now: float,
    *,
    with_region: bool = True,
) -> Destination:
    """What rules look at in a message sent `now`; its region only `with_region` (the look-up
    is the costly part: a table with no country rule and no country price needs none)."""
    return Destination(
        phone=phone,
        region=country_of(phone) if with_region else None,
        account_id=account_id,
        sender=sender,
        dialect=dialect,
        minute_utc=int(now // 60) % 1440,
    )


# Rules -------------------------------------------------------------------------------------------
def _minutes(hh: str, mm: str) -> int:
    return int(hh) * 60 + int(mm)


def in_hours(hours: str, utc_offset: str, minute_utc: int) -> bool:
    """Whether `minute_utc` falls in `hours` ("08:00-20:00", end excluded) at `utc_offset`;
    "22:00-06:00" spans midnight; "" is always."""
    if not hours:
        return True
    h = _HOURS.match(hours)
    o = _OFFSET.match(utc_offset)
    assert h is not None and o is not None  # checked when the rule was made
    offset = (1 if o[1] == "+" else -1) * _minutes(o[2], o[3])
    local = (minute_utc + offset) % 1440
    start, end = _minutes(h[1], h[2]), _minutes(h[3], h[4])
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def rule_matches(rule: Rule, dest: Destination) -> bool:
    return (
        (not rule.countries or (dest.region or "") in rule.countries)
        and (not rule.prefixes or any(dest.phone.startswith(p.lstrip("+")) for p in rule.prefixes))
        and (not rule.accounts or dest.account_id in rule.accounts)
        and (not rule.senders or (dest.sender or "") in rule.senders)
        and (not rule.dialects or dest.dialect in rule.dialects)
        and in_hours(rule.hours, rule.utc_offset, dest.minute_utc)
    )


def match_rule(rules: Iterable[Rule], dest: Destination) -> Rule | None:
    """The first rule, in table order, that matches."""
    return next((rule for rule in rules if rule_matches(rule, dest)), None)


def route_for(
    table: RoutingTable, dest: Destination, default_route: str = ""
) -> tuple[Rule | None, Route | None]:
    """The first matching rule and the route it names; with no rule, `default_route` (None: no
    such route, the default connector alone)."""
    rule = match_rule(table.rules, dest)
    name = rule.route if rule is not None else default_route
    return rule, table.route(name) if name else None


# Prices and the order of a route's connectors ------------------------------------------------------
def price_of(prices: Iterable[Price], connector: str, dest: Destination) -> int | None:
    """The connector's price for the number: its longest matching prefix, else its price for the
    number's country, else its price for any number (neither given); None when unpriced."""
    best: tuple[int, int] | None = None  # (specificity, price)
    for p in prices:
        if p.connector != connector:
            continue
        if p.prefix:
            if not dest.phone.startswith(p.prefix.lstrip("+")):
                continue
            rank = 2 + len(p.prefix)
        elif p.country:
            if p.country != dest.region:
                continue
            rank = 1
        else:
            rank = 0
        if best is None or rank > best[0]:
            best = (rank, p.price)
    return None if best is None else best[1]


def hop_order(
    route: Route,
    dest: Destination,
    prices: Sequence[Price],
    draw: Callable[[], float],
) -> list[str]:
    """The route's connectors in the order to try them for one message. Equal ranks are
    shuffled by weight (`draw` gives uniform numbers in [0, 1)); weight 0 goes last in its rank."""

    def rank(hop: Hop) -> tuple[float, ...]:
        share = _weighted_key(hop.weight, draw())
        if route.strategy == "least_cost":
            cost = price_of(prices, hop.connector, dest)
            return (math.inf if cost is None else cost, hop.priority, share)
        return (hop.priority, share)

    seen: set[str] = set()
    ordered = []
    for hop in sorted(route.connectors, key=rank):
        if hop.connector not in seen:
            seen.add(hop.connector)
            ordered.append(hop.connector)
    return ordered


def _weighted_key(weight: int, u: float) -> float:
    """Efraimidis-Spirakis: sorting by -u**(1/w) is a weighted shuffle (smaller key first)."""
    if weight <= 0:
        return 1.0
    return -((max(u, 1e-12)) ** (1.0 / weight))


# Circuit breaker ---------------------------------------------------------------------------------
class Outcome(msgspec.Struct, frozen=True, array_like=True):
    """One request to a connector: when it ended, whether it went well, how long it took."""

    at: float
    ok: bool
    latency: float


class BreakerPolicy(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    window: Annotated[float, msgspec.Meta(gt=0)] = 60.0  # seconds of outcomes looked at
    min_requests: Annotated[int, msgspec.Meta(ge=1)] = 5  # fewer: never open
    error_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5  # bad share that opens it
    slow: Annotated[float, msgspec.Meta(gt=0)] = 5.0  # an answer slower than this is bad
    cooldown: Annotated[float, msgspec.Meta(gt=0)] = 10.0  # open this long, then one probe


def _bad(outcome: Outcome, policy: BreakerPolicy) -> bool:
    return not outcome.ok or outcome.latency > policy.slow


def breaker_open(outcomes: Sequence[Outcome], now: float, policy: BreakerPolicy) -> bool:
    """Whether a connector's breaker is open now, from its outcomes in time order.

    It opens when, of the outcomes in the last `window` seconds, at least `min_requests` were
    and `error_rate` of them were bad (failed or slower than `slow`); it stays open `cooldown`
    seconds after the last outcome, then lets requests through (half open). A good outcome after
    such a pause closes it: the outcomes before it no longer count. A bad one keeps them, so the
    breaker opens again for another cooldown."""
    start = 0
    for i in range(1, len(outcomes)):
        pause = outcomes[i].at - outcomes[i - 1].at
        if pause >= policy.cooldown and not _bad(outcomes[i], policy):
            start = i
    recent = [o for o in outcomes[start:] if o.at > now - policy.window]
    if len(recent) < policy.min_requests:
        return False
    bad = sum(1 for o in recent if _bad(o, policy))
    if bad < policy.error_rate * len(recent):
        return False
    return now < recent[-1].at + policy.cooldown


def trim_outcomes(outcomes: list[Outcome], now: float, policy: BreakerPolicy) -> None:
    """Drop outcomes older than the window that no longer decide anything (keeps one)."""
    cut = 0
    while cut < len(outcomes) - 1 and outcomes[cut].at <= now - policy.window:
        cut += 1
    del outcomes[:cut]


# The table as TOML gives it, and what applying it changes ------------------------------------------
def parse_table(raw: Mapping[str, Any]) -> RoutingTable:
    """A routing table from TOML's `[[rules]]`, `[[routes]]` and `[[prices]]` (prices in
    currency units, "0.015" or 0.015). ValueError (msgspec.ValidationError) names what is wrong."""
    unknown = set(raw) - {"rules", "routes", "prices"}
    if unknown:
        raise ValueError(f"unknown table(s): {', '.join(sorted(unknown))}")
    prices = []
    for price in raw.get("prices", []):
        if isinstance(price, dict) and isinstance(price.get("price"), str | int | float):
            price = {**price, "price": to_micros(price["price"])}
        prices.append(price)
    return msgspec.convert(
        {"rules": raw.get("rules", []), "routes": raw.get("routes", []), "prices": prices},
        RoutingTable,
    )


def table_errors(table: RoutingTable, connectors: Iterable[str]) -> list[str]:
    """What makes a table unusable with these connectors: names used twice, a rule's route or a
    route's connector that does not exist, a route with no connector."""
    known = set(connectors)
    errors = []
    price_keys = [name for kind, name, _, _ in table_rows(table) if kind == "price"]
    for kind, names in (
        ("rule", [r.name for r in table.rules]),
        ("route", table.route_names()),
        ("price for", price_keys),
    ):
        twice = sorted({n for n in names if names.count(n) > 1})
        errors += [f"{kind} {n!r} is defined twice" for n in twice]
    routes = set(table.route_names())
    errors += [
        f"rule {r.name!r}: no route {r.route!r}" for r in table.rules if r.route not in routes
    ]
    for route in table.routes:
        if not route.connectors:
            errors.append(f"route {route.name!r} has no connector")
        errors += [
            f"route {route.name!r}: no connector {h.connector!r}"
            for h in route.connectors
            if h.connector not in known
        ]
    errors += [
        f"price: no connector {p.connector!r}" for p in table.prices if p.connector not in known
    ]
    return errors


class TableDiff(msgspec.Struct, kw_only=True, frozen=True):
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def _entries(table: RoutingTable) -> dict[str, str]:
    """Each rule, route and price by a key that names it, with its body (a rule's position is
    part of its body: moving a rule changes the table; a route's or price's is not)."""
    return {
        f"{kind} {name}": f"{position} {body}" if kind == "rule" else body
        for kind, name, position, body in table_rows(table)
    }


def diff_tables(old: RoutingTable, new: RoutingTable) -> TableDiff:
    """What applying `new` over `old` adds, changes and removes (empty: the same table)."""
    before, after = _entries(old), _entries(new)
    return TableDiff(
        added=sorted(k for k in after if k not in before),
        changed=sorted(k for k in after if k in before and before[k] != after[k]),
        removed=sorted(k for k in before if k not in after),
    )


# The table as the store keeps it: one row per rule, route and price ------------------------------
TableRow = tuple[str, str, int, str]  # kind, name, position, JSON body


def table_rows(table: RoutingTable) -> list[TableRow]:
    rows: list[TableRow] = []
    for i, rule in enumerate(table.rules):
        rows.append(("rule", rule.name, i, msgspec.json.encode(rule).decode()))
    for i, route in enumerate(table.routes):
        rows.append(("route", route.name, i, msgspec.json.encode(route).decode()))
    for i, price in enumerate(table.prices):
        key = f"{price.connector} {price.prefix or price.country or '*'}"
        rows.append(("price", key, i, msgspec.json.encode(price).decode()))
    return rows


def table_from_rows(rows: Iterable[Sequence[Any]]) -> RoutingTable:
    """`table_rows` read back, in any order (each kind sorted by position)."""
    by_kind: dict[str, list[tuple[int, str]]] = {"rule": [], "route": [], "price": []}
    for kind, _name, position, body in rows:
        by_kind.setdefault(kind, []).append((int(position), body))
    rules, routes, prices = (
        [body for _, body in sorted(by_kind[k])] for k in ("rule", "route", "price")
    )
    return RoutingTable(
        rules=[msgspec.json.decode(b, type=Rule) for b in rules],
        routes=[msgspec.json.decode(b, type=Route) for b in routes],
        prices=[msgspec.json.decode(b, type=Price) for b in prices],
    )


class MessageRoute(msgspec.Struct, kw_only=True, frozen=True):
    """The connector a message was last handed to, and its provider's id for it once known."""

    message_id: str
    connector: str
    carrier_id: str | None
    at: float


# DR pushes -------------------------------------------------------------------------------------
PUSH_TOKEN_MIN = 16  # characters: an unguessable `token` in an upstream's dr_url


def push_token(dr_url: str) -> str | None:
    """The `token` query parameter of an upstream's `dr_url`: a push to `/upstream/{name}/dr`
    must carry it (None: the URL has none, or one too short to be unguessable)."""
    try:
        values = parse_qs(urlsplit(dr_url).query).get("token", [])
    except ValueError:
        return None
    token = values[0] if len(values) == 1 else ""
    return token if len(token) >= PUSH_TOKEN_MIN else None
