"""Canonical status -> the provider's `state` word."""

from __future__ import annotations

from ...core.status import Status

SEND = "send"  # "message status not received" (yet): an empty time is given

STATE: dict[Status, str] = {
    Status.ACCEPTED: SEND,
    Status.SCHEDULED: SEND,
    Status.QUEUED: SEND,
    Status.SUBMITTED: SEND,
    Status.DELIVERED: "deliver",
    Status.UNDELIVERED: "not_deliver",
    Status.REJECTED: "not_deliver",
    Status.CANCELLED: "not_deliver",
    Status.EXPIRED: "expired",
    Status.UNKNOWN: "partly_deliver",
}
# Every word the provider documents; 'read' is Viber-only and never produced for SMS.
STATES = frozenset({"send", "not_deliver", "expired", "deliver", "read", "partly_deliver"})


def state_of(status: Status) -> str:
    return STATE[status]
