"""The chain smsgate -> smsgate over each of the five dialects (tests/chain/conftest.py):
A's client sends in its dialect, A routes to B's endpoint of that dialect, B delivers (or its
simulator fails the number), the DR flows back to A by B's push or A's pull, and from A to
A's client in that client's dialect.

Counted each time: every message sent once to B (B holds one message per message of A's,
under A's own reference where the dialect has one), each final at A with B's status and
canonical error (the error survives two mappings: B's dialect table, A's connector table),
and the client sees the seed's word for it."""

from __future__ import annotations

import aiohttp
import pytest

from smsgate.core.errors import ErrorCode
from smsgate.core.models import Message
from smsgate.core.routing import Hop, Route, RoutingTable, Rule
from smsgate.core.status import Status
from tests.chain.clients import CLIENTS
from tests.chain.conftest import DIALECTS, Chain
from tests.support.backends import both_backends

# The numbers each client sends to: two delivered, one that B's simulator fails (FAILING).
PHONES = {
    "msghub": (["79651000001", "79651000002"], "79990000001"),
    "smsgw2": (["77011000001", "77011000002"], "77029000001"),
    "osonsms": (["992901000001", "992901000002"], "992909000001"),
    "mysmpp": (["79652000001", "79652000002"], "79990000002"),
    "smsc": (["79653000001", "79653000002"], "79990000003"),
}
# What B knows A's message by (the provider's client-side reference A's connector sends):
# our message id, or (mysmpp's Int client_id_sms) our sequence number. SMSC.ru names a
# request by the id of its first message, so B's reference is not one per message.
REFERENCE = {"msghub": "id", "smsgw2": "id", "osonsms": "id", "mysmpp": "seq", "smsc": None}
# The failure as A learns it. mysmpp's webhook and status answer carry a state and words, no
# code: `not_deliver` is all A can know (its words are kept as the carrier error).
FAILED_AT_A = dict.fromkeys(DIALECTS, ErrorCode.UNKNOWN_SUBSCRIBER) | {
    "mysmpp": ErrorCode.CARRIER_REJECTED
}


def digits(phone: str) -> str:
    return phone.lstrip("+")


async def run_chain(chain: Chain, dialect: str) -> tuple[list[Message], list[Message]]:
    """Send through A in `dialect`, wait for the client to see every outcome, check its words;
    A's and B's messages."""
    client = CLIENTS[dialect]
    delivered, failing = PHONES[dialect]
    async with aiohttp.ClientSession(base_url=chain.a.url) as http:
        given = await client.send(http, [*delivered, failing])
        want = {given[p]: client.words[0] for p in delivered} | {given[failing]: client.words[1]}
        seen: dict[str, str] = {}

        async def client_saw_all() -> bool:
            pushes = [r for r in chain.receiver.requests if r.path == f"/{dialect}"]
            seen.update(await client.outcomes(http, pushes, list(want)))
            return set(want) <= set(seen)

        try:
            await chain.a.wait_for(client_saw_all, timeout=15)
        except AssertionError:
            raise AssertionError(await stuck(chain, dialect, want, seen)) from None
    assert {i: seen[i] for i in want} == want
    return await chain.messages(chain.a, chain.shop), await chain.messages(chain.b, chain.acme)


async def stuck(chain: Chain, dialect: str, want: dict[str, str], seen: dict[str, str]) -> str:
    """Where the chain stopped: the client's words, both nodes' messages."""
    at_a = await chain.messages(chain.a, chain.shop)
    at_b = await chain.messages(chain.b, chain.acme)
    return (
        f"{dialect}: the client saw {seen}, wanted {want}; "
        f"A: {[(m.phone, m.status.value, m.error_code) for m in at_a]}; "
        f"B: {[(m.phone, m.status.value, m.error_code) for m in at_b]}"
    )


def check_once_each(
    dialect: str, at_a: list[Message], at_b: list[Message], upstream: str = ""
) -> None:
    """`dialect`: the client's; `upstream`: the dialect A sent through to B (the same one
    unless given)."""
    delivered, failing = PHONES[dialect]
    upstream = upstream or dialect
    assert sorted(digits(m.phone) for m in at_a) == sorted([*delivered, failing])
    assert sorted(digits(m.phone) for m in at_b) == sorted(digits(m.phone) for m in at_a)
    field = REFERENCE[upstream]
    if field:
        refs = {str(getattr(m, field)) for m in at_a}
        assert {m.client_ref for m in at_b} == refs
    b_by_phone = {digits(m.phone): m for m in at_b}
    for m in at_a:  # B's outcome, as B stored it, is A's
        there = b_by_phone[digits(m.phone)]
        assert m.status is there.status, m.phone
        if digits(m.phone) == failing:
            assert there.error_code == ErrorCode.UNKNOWN_SUBSCRIBER.value
            assert (m.status, m.error_code) == (Status.UNDELIVERED, FAILED_AT_A[upstream].value)
        else:
            assert (m.status, m.error_code) == (Status.DELIVERED, None)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_chain_over_each_dialect(chain: Chain, dialect: str) -> None:
    at_a, at_b = await run_chain(chain, dialect)
    check_once_each(dialect, at_a, at_b)
    routes = await chain.a.store.routes_of([m.id for m in at_a])
    assert {r.connector for r in routes.values()} == {f"b-{dialect}"}
    carrier_ids = [r.carrier_id for r in routes.values()]
    assert all(carrier_ids) and len(set(carrier_ids)) == len(at_a)


@both_backends
async def test_every_dialect_at_once(chain: Chain) -> None:
    """The five chains side by side through one node A (SQLite, then PostgreSQL): each
    message on its own dialect's route, none crossing over."""
    for dialect in DIALECTS:
        at_a, at_b = await run_chain(chain, dialect)
        mine = [m for m in at_a if m.dialect == dialect]
        phones = {digits(m.phone) for m in mine}
        check_once_each(dialect, mine, [m for m in at_b if digits(m.phone) in phones])


async def test_each_client_dialect_over_another_upstream(chain: Chain) -> None:
    """The client's dialect and the upstream's are independent: each dialect's client is
    routed through the next dialect's upstream (msghub over smsgw2, ..., smsc over msghub);
    the DR still reaches the client in its own words."""
    over = dict(zip(DIALECTS, DIALECTS[1:] + DIALECTS[:1], strict=True))
    crossed = RoutingTable(
        rules=[Rule(name=d, route=d, dialects=[d]) for d in DIALECTS],
        routes=[Route(name=d, connectors=[Hop(connector=f"b-{over[d]}")]) for d in DIALECTS],
    )
    await chain.a.apply_routes(crossed)
    for dialect in DIALECTS:
        at_a, at_b = await run_chain(chain, dialect)
        mine = [m for m in at_a if m.dialect == dialect]
        phones = {digits(m.phone) for m in mine}
        theirs = [m for m in at_b if digits(m.phone) in phones]
        check_once_each(dialect, mine, theirs, upstream=over[dialect])
        assert {m.dialect for m in theirs} == {over[dialect]}
        routes = await chain.a.store.routes_of([m.id for m in mine])
        assert {r.connector for r in routes.values()} == {f"b-{over[dialect]}"}
