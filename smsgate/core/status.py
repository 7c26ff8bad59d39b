"""The canonical message status model shared by every dialect."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in FINAL


# The statuses looked up for every message, as module globals to import: an attribute of the
# Status class costs ~50 ns on Python 3.11 (EnumType's __getattr__ hook), a global ~5.
QUEUED = Status.QUEUED
SUBMITTED = Status.SUBMITTED
DELIVERED = Status.DELIVERED
REJECTED = Status.REJECTED

FINAL = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED, Status.CANCELLED}
)

# Statuses a message may still be cancelled from: nothing has reached a carrier yet.
CANCELLABLE = frozenset({Status.ACCEPTED, Status.SCHEDULED, Status.QUEUED})

# The statuses each status may move to (a final one: none).
NEXT: dict[Status, frozenset[Status]] = {
    Status.ACCEPTED: frozenset(
        {Status.SCHEDULED, Status.QUEUED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED}
    ),
    Status.SCHEDULED: frozenset({Status.QUEUED, Status.CANCELLED, Status.EXPIRED, Status.REJECTED}),
    Status.QUEUED: frozenset(
        {
            Status.SUBMITTED,
            Status.REJECTED,
            Status.EXPIRED,
            Status.CANCELLED,
            Status.UNDELIVERED,
            Status.SCHEDULED,  # pushed back to the next allowed time window
            Status.UNKNOWN,
        }
    ),
    # A receipt may skip straight to any final state; UNKNOWN when the carrier says so.
    Status.SUBMITTED: frozenset(
        {Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED, Status.UNKNOWN}
    ),
    # A carrier that said "unknown" may still report the real outcome later.
    Status.UNKNOWN: frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED}),
}
NEXT.update({s: frozenset() for s in FINAL})


def can_transition(current: Status, new: Status) -> bool:
    """True when moving from `current` to `new` is legal; final statuses never change."""
    return new in NEXT[current]
