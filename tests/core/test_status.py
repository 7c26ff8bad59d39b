from __future__ import annotations

import itertools

import pytest

from smsgate.core.status import CANCELLABLE, FINAL, NEXT, Status, can_transition


def test_happy_path_is_legal() -> None:
    path = [Status.ACCEPTED, Status.SCHEDULED, Status.QUEUED, Status.SUBMITTED, Status.DELIVERED]
    for current, new in itertools.pairwise(path):
        assert can_transition(current, new)


@pytest.mark.parametrize("final", sorted(FINAL))
@pytest.mark.parametrize("new", list(Status))
def test_final_statuses_never_change(final: Status, new: Status) -> None:
    assert not can_transition(final, new)


def test_illegal_transitions_are_refused() -> None:
    assert not can_transition(Status.SUBMITTED, Status.QUEUED)  # no going back
    assert not can_transition(Status.SUBMITTED, Status.CANCELLED)  # already with the carrier
    assert not can_transition(Status.QUEUED, Status.ACCEPTED)
    assert not can_transition(Status.SCHEDULED, Status.DELIVERED)  # never sent


def test_unknown_can_still_resolve() -> None:
    assert can_transition(Status.SUBMITTED, Status.UNKNOWN)
    assert can_transition(Status.UNKNOWN, Status.DELIVERED)


def test_cancellable_are_those_not_yet_with_a_carrier() -> None:
    assert {Status.ACCEPTED, Status.SCHEDULED, Status.QUEUED} == CANCELLABLE
    assert all(can_transition(s, Status.CANCELLED) for s in CANCELLABLE)


def test_every_status_has_its_next_statuses() -> None:
    """The planning of reports reads NEXT[status] for any stored status (no default)."""
    assert set(NEXT) == set(Status)
    assert all(not NEXT[s] for s in FINAL)
