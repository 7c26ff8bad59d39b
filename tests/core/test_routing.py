"""core.routing: rules in combination, connector order, least cost, the breaker, the table."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.routing import (
    BreakerPolicy,
    Destination,
    Hop,
    Outcome,
    Price,
    Route,
    RoutingTable,
    Rule,
    breaker_open,
    destination,
    diff_tables,
    hop_order,
    in_hours,
    match_rule,
    parse_table,
    price_of,
    push_token,
    rule_matches,
    table_errors,
    table_from_rows,
    table_rows,
    trim_outcomes,
)

NOON = 12 * 60


def dest(
    phone: str = "77011234567",
    region: str | None = "KZ",
    account_id: int = 1,
    sender: str | None = "Bank",
    dialect: str = "msghub",
    minute_utc: int = NOON,
) -> Destination:
    return Destination(
        phone=phone,
        region=region,
        account_id=account_id,
        sender=sender,
        dialect=dialect,
        minute_utc=minute_utc,
    )


# Regions from phonenumberslite ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phone", "region"),
    [
        ("77011234567", "KZ"),  # +7 70x: Kazakhstan, not Russia
        ("79161234567", "RU"),
        ("992927123456", "TJ"),
        ("998901234567", "UZ"),
    ],
)
def test_destination_region(phone: str, region: str) -> None:
    assert destination(phone, 1, None, "native", 0.0).region == region


def test_destination_minute_is_utc() -> None:
    assert destination("77011234567", 1, None, "native", 86400 * 3 + 3600 + 120.5).minute_utc == 62


# Rules in combination ---------------------------------------------------------------------------
KZ_BANK_DAY = Rule(
    name="kz-bank-day",
    route="kcell",
    countries=["KZ"],
    prefixes=["+7701", "7702"],
    accounts=[1, 2],
    senders=["Bank"],
    dialects=["msghub", "smsc"],
    hours="08:00-20:00",
    utc_offset="+05:00",  # Almaty: 08:00-20:00 local is 03:00-15:00 UTC
)


@pytest.mark.parametrize(
    ("change", "matches"),
    [
        ({}, True),
        ({"region": "RU"}, False),
        ({"region": None}, False),
        ({"phone": "77021234567"}, True),  # the second prefix
        ({"phone": "77051234567"}, False),  # a KZ number outside both prefixes
        ({"account_id": 2}, True),
        ({"account_id": 3}, False),
        ({"sender": "Shop"}, False),
        ({"sender": None}, False),  # a sender condition needs a sender
        ({"dialect": "smsc"}, True),
        ({"dialect": "native"}, False),
        ({"minute_utc": 3 * 60}, True),  # 08:00 Almaty: the window opens
        ({"minute_utc": 3 * 60 - 1}, False),
        ({"minute_utc": 15 * 60 - 1}, True),
        ({"minute_utc": 15 * 60}, False),  # 20:00 Almaty: closed (the end is excluded)
    ],
)
def test_every_condition_must_match(change: dict[str, object], matches: bool) -> None:
    d = msgspec.structs.replace(dest(), **change)
    assert rule_matches(KZ_BANK_DAY, d) is matches


def test_an_empty_rule_matches_any_message() -> None:
    catch_all = Rule(name="all", route="r")
    assert rule_matches(catch_all, dest(region=None, sender=None, dialect="smpp", minute_utc=0))


def test_first_matching_rule_wins() -> None:
    rules = [
        Rule(name="tj", route="oson", countries=["TJ"]),
        Rule(name="bank", route="vip", accounts=[7]),
        Rule(name="kz", route="kcell", prefixes=["77"]),
        Rule(name="rest", route="smsc"),
    ]

    def first(d: Destination) -> str | None:
        rule = match_rule(rules, d)
        return rule.name if rule is not None else None

    assert first(dest(account_id=7)) == "bank"  # before kz: the order decides
    assert first(dest()) == "kz"
    assert first(dest(phone="992927123456", region="TJ", account_id=7)) == "tj"
    assert first(dest(phone="79161234567", region="RU")) == "rest"
    assert match_rule(rules[:3], dest(phone="79161234567", region="RU")) is None


@given(
    st.sampled_from(["KZ", "TJ", "RU", None]),
    st.sampled_from(["77011234567", "992927123456", "79161234567"]),
    st.integers(1, 3),
    st.sampled_from(["Bank", "Shop", None]),
    st.sampled_from(["msghub", "smsc", "native"]),
    st.integers(0, 1439),
    st.data(),
)
def test_a_condition_added_never_widens_a_rule(
    region: str | None,
    phone: str,
    account: int,
    sender: str | None,
    dialect: str,
    minute: int,
    data: st.DataObject,
) -> None:
    """Rules combine by AND: a rule with one more condition matches a subset of the messages."""
    d = dest(phone, region, account, sender, dialect, minute)
    conditions: dict[str, Any] = {
        "countries": ["KZ"],
        "prefixes": ["7701"],
        "accounts": [1],
        "senders": ["Bank"],
        "dialects": ["msghub"],
        "hours": "06:00-18:00",
    }
    chosen = data.draw(st.sets(st.sampled_from(sorted(conditions))))
    extra = data.draw(st.sampled_from(sorted(set(conditions) - chosen) or ["countries"]))
    narrow = Rule(name="n", route="r", **{k: conditions[k] for k in chosen | {extra}})
    wide = Rule(name="w", route="r", **{k: conditions[k] for k in chosen})
    if rule_matches(narrow, d):
        assert rule_matches(wide, d)
    each = [Rule(name=k, route="r", **{k: conditions[k]}) for k in chosen]
    assert rule_matches(wide, d) == all(rule_matches(r, d) for r in each)


@given(st.integers(0, 1439), st.integers(0, 1439), st.integers(0, 1439))
def test_hours_and_their_reverse_split_the_day(start: int, end: int, minute: int) -> None:
    if start == end:
        return
    there = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    back = f"{end // 60:02d}:{end % 60:02d}-{start // 60:02d}:{start % 60:02d}"
    assert in_hours(there, "+00:00", minute) != in_hours(back, "+00:00", minute)


def test_hours_offsets_and_midnight() -> None:
    assert in_hours("22:00-06:00", "+00:00", 23 * 60)
    assert in_hours("22:00-06:00", "+00:00", 5 * 60)
    assert not in_hours("22:00-06:00", "+00:00", NOON)
    assert in_hours("08:00-09:00", "-03:30", 11 * 60 + 45)  # 08:15 at UTC-03:30
    assert in_hours("00:00-24:00", "+05:00", 0)
    assert in_hours("", "+00:00", 0)


@pytest.mark.parametrize(
    "bad",
    [{"hours": "8-20"}, {"hours": "25:00-26:00"}, {"utc_offset": "5"}, {"prefixes": ["+7a"]}],
)
def test_bad_rules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError)):
        msgspec.convert({"name": "x", "route": "r", **bad}, Rule)


# The order of a route's connectors ---------------------------------------------------------------
def test_priority_then_weight() -> None:
    route = Route(
        name="r",
        connectors=[
            Hop(connector="backup", priority=2),
            Hop(connector="a", priority=1, weight=3),
            Hop(connector="b", priority=1, weight=1),
            Hop(connector="spare", priority=1, weight=0),
        ],
    )
    rng = random.Random(7)
    firsts = Counter(hop_order(route, dest(), [], rng.random)[0] for _ in range(4000))
    assert set(firsts) == {"a", "b"}
    assert 0.70 < firsts["a"] / 4000 < 0.80  # 3:1
    for _ in range(50):
        order = hop_order(route, dest(), [], rng.random)
        assert order[2:] == ["spare", "backup"]  # weight 0 last in its priority, then the next


def test_a_connector_named_twice_is_tried_once() -> None:
    route = Route(name="r", connectors=[Hop(connector="a"), Hop(connector="a", priority=5)])
    assert hop_order(route, dest(), [], random.random) == ["a"]


PRICES = [
    Price(connector="kcell", prefix="7701", price=10_000),
    Price(connector="kcell", country="KZ", price=30_000),
    Price(connector="smsc", price=20_000),  # any number
    Price(connector="smsc", prefix="77", price=25_000),
]


@pytest.mark.parametrize(
    ("phone", "region", "connector", "price"),
    [
        ("77011234567", "KZ", "kcell", 10_000),  # its prefix beats its country price
        ("77051234567", "KZ", "kcell", 30_000),
        ("79161234567", "RU", "kcell", None),
        ("77051234567", "KZ", "smsc", 25_000),  # a prefix beats the catch-all
        ("992927123456", "TJ", "smsc", 20_000),
        ("77011234567", "KZ", "oson", None),
    ],
)
def test_price_of(phone: str, region: str, connector: str, price: int | None) -> None:
    assert price_of(PRICES, connector, dest(phone=phone, region=region)) == price


def test_least_cost_picks_the_cheapest_for_the_number() -> None:
    route = Route(
        name="r",
        strategy="least_cost",
        connectors=[
            Hop(connector="oson"),  # unpriced: last
            Hop(connector="smsc", priority=9),
            Hop(connector="kcell", priority=1),
        ],
    )
    assert hop_order(route, dest(phone="77011234567"), PRICES, random.random) == [
        "kcell",  # 0.010
        "smsc",  # 0.025
        "oson",
    ]
    assert hop_order(route, dest(phone="77051234567"), PRICES, random.random) == [
        "smsc",  # 0.025 beats kcell's KZ 0.030, whatever the priorities
        "kcell",
        "oson",
    ]
    # the same route by priority ignores the prices
    by_priority = msgspec.structs.replace(route, strategy="priority")
    assert hop_order(by_priority, dest(), PRICES, random.random) == ["oson", "kcell", "smsc"]


def test_least_cost_ties_go_by_priority() -> None:
    prices = [Price(connector="a", price=5), Price(connector="b", price=5)]
    route = Route(
        name="r",
        strategy="least_cost",
        connectors=[Hop(connector="a", priority=2), Hop(connector="b", priority=1)],
    )
    assert hop_order(route, dest(), prices, random.random) == ["b", "a"]


# The breaker -----------------------------------------------------------------------------------
POLICY = BreakerPolicy(window=60, min_requests=4, error_rate=0.5, slow=2.0, cooldown=10)


def outcomes(*spec: tuple[float, bool, float]) -> list[Outcome]:
    return [Outcome(at, ok, latency) for at, ok, latency in spec]


def test_breaker_closed_below_min_requests() -> None:
    bad = outcomes((1, False, 0.1), (2, False, 0.1), (3, False, 0.1))
    assert not breaker_open(bad, 4, POLICY)


def test_breaker_opens_on_error_rate_and_on_slow_answers() -> None:
    half_failed = outcomes((1, True, 0.1), (2, False, 0.1), (3, True, 0.1), (4, False, 0.1))
    assert breaker_open(half_failed, 5, POLICY)
    one_in_four = outcomes((1, True, 0.1), (2, False, 0.1), (3, True, 0.1), (4, True, 0.1))
    assert not breaker_open(one_in_four, 5, POLICY)
    slow = outcomes((1, True, 3.0), (2, True, 3.0), (3, True, 0.1), (4, True, 0.1))
    assert breaker_open(slow, 5, POLICY)  # answered, but slower than `slow`


def test_breaker_cooldown_then_half_open_then_closed_or_open_again() -> None:
    failing = outcomes(*((t, False, 0.1) for t in (1, 2, 3, 4)))
    assert breaker_open(failing, 13.9, POLICY)
    assert not breaker_open(failing, 14.0, POLICY)  # cooldown over: one probe may go
    recovered = [*failing, Outcome(20, True, 0.1)]
    assert not breaker_open(recovered, 20.5, POLICY)  # the good probe closed it
    assert not breaker_open([*recovered, Outcome(21, False, 0.1)], 21.5, POLICY)
    still_down = [*failing, Outcome(20, False, 0.1)]
    assert breaker_open(still_down, 29.9, POLICY)  # the bad probe: open another cooldown
    assert not breaker_open(still_down, 30.0, POLICY)


def test_breaker_forgets_outside_the_window() -> None:
    old = outcomes(*((t, False, 0.1) for t in (1, 2, 3, 4)))
    late = [*old, Outcome(70, False, 0.1)]
    assert not breaker_open(late, 70.5, POLICY)  # four of five left the window
    trimmed = list(late)
    trim_outcomes(trimmed, 70.5, POLICY)
    assert trimmed == [Outcome(70, False, 0.1)]


@given(
    st.lists(st.tuples(st.floats(0, 0.5), st.booleans(), st.floats(0, 3)), min_size=0, max_size=30),
    st.floats(0, 100),
)
def test_breaker_needs_enough_bad_outcomes(
    steps: list[tuple[float, bool, float]], after: float
) -> None:
    at = 0.0
    seq = []
    for gap, ok, latency in steps:
        at += gap
        seq.append(Outcome(at, ok, latency))
    now = at + after
    bad = sum(1 for o in seq if not o.ok or o.latency > POLICY.slow)
    if bad < POLICY.min_requests * POLICY.error_rate or after >= POLICY.cooldown:
        assert not breaker_open(seq, now, POLICY)


# The table ---------------------------------------------------------------------------------------
RAW: dict[str, Any] = {
    "rules": [{"name": "kz", "route": "kz", "prefixes": ["+77"]}],
    "routes": [
        {
            "name": "kz",
            "strategy": "least_cost",
            "connectors": [{"connector": "kcell"}, {"connector": "smsc", "priority": 1}],
        }
    ],
    "prices": [
        {"connector": "kcell", "prefix": "77", "price": "0.015"},
        {"connector": "smsc", "country": "KZ", "price": 0.02},
    ],
}


def test_parse_table_reads_prices_in_currency_units() -> None:
    table = parse_table(RAW)
    assert [p.price for p in table.prices] == [15_000, 20_000]
    assert table_errors(table, ["kcell", "smsc", "simulator"]) == []
    assert table_from_rows(reversed(table_rows(table))) == table


@pytest.mark.parametrize(
    "raw",
    [
        {"rule": []},
        {"rules": [{"name": "x", "route": "r", "country": ["KZ"]}]},
        {"routes": [{"name": "r", "connectors": [{"connector": "a", "weight": -1}]}]},
        {"prices": [{"connector": "a"}]},
        {"prices": [{"connector": "a", "price": "cheap"}]},
        {"rules": [{"name": "has space", "route": "r"}]},
    ],
)
def test_parse_table_refuses(raw: dict[str, object]) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError)):
        parse_table(raw)


def test_table_errors_name_each_problem() -> None:
    table = RoutingTable(
        rules=[Rule(name="a", route="nowhere"), Rule(name="a", route="r")],
        routes=[
            Route(name="r", connectors=[Hop(connector="ghost")]),
            Route(name="empty", connectors=[]),
        ],
        prices=[Price(connector="kcell", price=1), Price(connector="kcell", price=2)],
    )
    assert table_errors(table, ["kcell"]) == [
        "rule 'a' is defined twice",
        "price for 'kcell *' is defined twice",
        "rule 'a': no route 'nowhere'",
        "route 'r': no connector 'ghost'",
        "route 'empty' has no connector",
    ]


def test_diff_tables() -> None:
    table = parse_table(RAW)
    assert diff_tables(table, table).empty
    moved_route = parse_table({**RAW, "routes": [{**RAW["routes"][0], "tps": 5}]})
    assert diff_tables(table, moved_route).changed == ["route kz"]
    assert diff_tables(RoutingTable(), table).added == [
        "price kcell 77",
        "price smsc KZ",
        "route kz",
        "rule kz",
    ]
    assert diff_tables(table, RoutingTable()).removed == diff_tables(RoutingTable(), table).added


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://gw.example/upstream/kcell/dr?token=0123456789abcdef", "0123456789abcdef"),
        (
            "https://gw.example/upstream/kcell/dr?a=1&token=0123456789abcdefXYZ",
            "0123456789abcdefXYZ",
        ),
        ("https://gw.example/upstream/kcell/dr?token=short", None),
        ("https://gw.example/upstream/kcell/dr", None),
        ("https://gw.example/dr?token=0123456789abcdef&token=0123456789abcdef", None),
    ],
)
def test_push_token(url: str, token: str | None) -> None:
    assert push_token(url) == token
