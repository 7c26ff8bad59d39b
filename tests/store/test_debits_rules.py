"""The debit-slice rules (store/rules.py) alone, and in combination with plan_accept: a group
planned against what `must_gather` and `slice_top_up` leave in its slice decides exactly as if
it were planned against the account's whole balance."""

from __future__ import annotations

import itertools

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.store.base import Refusal
from smsgate.store.rules import (
    SLICE_SHARE,
    AcceptRequest,
    Known,
    most_owed,
    must_gather,
    plan_accept,
    slice_top_up,
)
from tests.store.helpers import message


def test_most_owed_counts_every_item_that_could_be_stored_priced() -> None:
    bad = GatewayError(ErrorCode.INVALID_PHONE)
    held = Refusal(error=bad, dialect="native", held=message(1, price=7))
    requests = [
        AcceptRequest(1, [message(1, price=5), message(1, price=5)]),
        AcceptRequest(2, [message(2, price=3), Refusal(error=bad, dialect="native"), held]),
        AcceptRequest(1, [message(1, price=1)]),
        AcceptRequest(3, [message(3, price=0)]),  # free: no debit, no slice
    ]
    assert most_owed(requests) == {1: 11, 2: 10}


@pytest.mark.parametrize(
    ("held", "free", "owed", "take"),
    [
        (10, 0, 10, 0),  # covered: the row is not touched
        (4, 1600, 10, 100),  # short: a share of the free balance, more than what is short
        (4, 32, 10, 6),  # short, the share smaller: what is short
        (4, 3, 10, 3),  # the row cannot cover it: everything free (after a gather)
        (0, 0, 1, 0),
    ],
)
def test_slice_top_up(held: int, free: int, owed: int, take: int) -> None:
    assert slice_top_up(held, free, owed) == take
    assert must_gather(held, free, owed) == (held + free < owed)


def _plan(held: int, requests: list[AcceptRequest]) -> list[str]:
    plan = plan_accept(requests, Known({}, (), {1: held}))
    return [o.kind for outcomes in plan.outcomes for o in outcomes]


@pytest.mark.parametrize(
    ("held", "free", "others", "sizes"),
    list(itertools.product([0, 3, 10], [0, 4, 5 * SLICE_SHARE], [0, 2, 9], [(1,), (3, 1, 4)])),
)
def test_a_slice_decides_as_the_whole_balance(
    held: int, free: int, others: int, sizes: tuple[int, ...]
) -> None:
    """Whatever the split between slice, free row and other slices, the outcomes are those of
    the whole balance."""
    requests = [AcceptRequest(1, [message(1, price=1) for _ in range(n)]) for n in sizes]
    owed = most_owed(requests).get(1, 0)
    gathered = others if must_gather(held, free, owed) else 0
    in_slice = held + slice_top_up(held, free + gathered, owed)
    assert _plan(in_slice, requests) == _plan(held + free + others, requests)
