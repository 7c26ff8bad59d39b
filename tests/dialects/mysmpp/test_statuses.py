"""The canonical -> mysmpp state table covers every status with a documented word."""

from __future__ import annotations

from smsgate.core.status import Status
from smsgate.dialects.mysmpp.statuses import STATE, STATES


def test_every_status_has_a_documented_state() -> None:
    assert set(STATE) == set(Status)
    assert set(STATE.values()) <= STATES


def test_table() -> None:
    assert STATE[Status.DELIVERED] == "deliver"
    assert STATE[Status.UNDELIVERED] == "not_deliver"
    assert STATE[Status.EXPIRED] == "expired"
    assert STATE[Status.UNKNOWN] == "partly_deliver"
    for pending in (Status.ACCEPTED, Status.SCHEDULED, Status.QUEUED, Status.SUBMITTED):
        assert STATE[pending] == "send"
