"""rules.whole_refusal: when an accept's answer is one error for the whole request."""

from __future__ import annotations

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.store import rules
from smsgate.store.base import Outcome
from tests.store.helpers import message


def _error(code: ErrorCode, detail: str = "") -> Outcome:
    return Outcome("error", error=GatewayError(code, detail))


SHORT = Outcome("error", error=rules.insufficient_balance())
FILLER = Outcome("error", error=rules.batch_refused())


def test_balance_refuses_the_whole_request() -> None:
    whole = rules.whole_refusal([SHORT, SHORT, _error(ErrorCode.INVALID_PHONE)])
    assert whole is not None and whole.code is ErrorCode.INSUFFICIENT_BALANCE
    assert "2 new messages" in whole.detail


def test_atomic_refusal_refuses_the_whole_request() -> None:
    whole = rules.whole_refusal([FILLER, _error(ErrorCode.STOP_LISTED), FILLER])
    assert whole is not None and whole.code is ErrorCode.BAD_REQUEST
    assert whole.detail.startswith("batch refused: 1 of 3 recipients")


def test_balance_comes_before_the_atomic_refusal() -> None:
    whole = rules.whole_refusal([FILLER, SHORT])
    assert whole is not None and whole.code is ErrorCode.INSUFFICIENT_BALANCE


def test_not_a_whole_refusal() -> None:
    stored = message(1)
    own = _error(ErrorCode.INVALID_PHONE)
    assert rules.whole_refusal([own, own]) is None  # each for its own reason
    assert rules.whole_refusal([SHORT, Outcome("duplicate", message=stored)]) is None
    assert rules.whole_refusal([SHORT, Outcome("new", message=stored)]) is None
    kept = Outcome("error", message=stored, error=rules.insufficient_balance())
    assert rules.whole_refusal([kept]) is None  # a refusal stored as a message


def test_request_wide_refusals() -> None:
    assert rules.request_wide(rules.insufficient_balance())
    assert rules.request_wide(rules.batch_refused())
    assert not rules.request_wide(GatewayError(ErrorCode.BAD_REQUEST, "something else"))
    assert not rules.request_wide(GatewayError(ErrorCode.STOP_LISTED))
