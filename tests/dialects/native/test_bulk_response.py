"""A bulk stored whole (store.base.AllNew) is counted without a loop over its outcomes: its
answer and its counts are those of the same outcomes as a plain list."""

from __future__ import annotations

import time

from smsgate.core.models import Message
from smsgate.dialects.native.render import bulk_response
from smsgate.engine.accept import _counts
from smsgate.store.base import AllNew
from smsgate.store.rules import AcceptRequest, Known, plan_accept


def _message(i: int, not_before: float | None = None) -> Message:
    return Message(
        id=f"m{i}",
        account_id=1,
        dialect="native",
        client_ref=f"r{i}",
        phone=f"7965000000{i}",
        text="hi",
        encoding="gsm7",
        segments=1,
        price=10,
        not_before=not_before,
    )


def _stored_whole(messages: list[Message]) -> AllNew:
    outcomes = plan_accept([AcceptRequest(1, messages)], Known({}, (), {1: 1_000})).outcomes[0]
    assert type(outcomes) is AllNew
    return outcomes


def test_a_bulk_stored_whole_is_answered_as_its_outcomes_listed() -> None:
    outcomes = _stored_whole([_message(i) for i in range(4)])
    answer = bulk_response("job", outcomes)
    assert answer == bulk_response("job", list(outcomes))
    assert answer.accepted == 4 and answer.message_ids == ["m0", "m1", "m2", "m3"]


def test_a_bulk_stored_whole_is_counted_as_its_outcomes_listed() -> None:
    now = time.time()
    later, earlier = now + 3600, now - 1
    for times in ([None, None], [later, later], [later, earlier], [earlier, later]):
        outcomes = _stored_whole([_message(i, at) for i, at in enumerate(times)])
        assert _counts(outcomes, now) == _counts(list(outcomes), now)
    assert _counts(_stored_whole([_message(0, later)]), now) == (1, 0, False)
