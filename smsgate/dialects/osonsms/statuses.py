"""Canonical status -> OsonSMS `query_sms.php` status (the SMPP 3.4 message_state names).

The seed's eight words are SMPP message states; the provider's older API also returned the
numeric state (`message_state_code`) and a title-case word (`message_state`), which the legacy
fields of `query_sms.php` give back for clients written against it.
"""

from __future__ import annotations

from ...core.status import Status

WORDS: dict[Status, str] = {
    Status.ACCEPTED: "ENROUTE",  # stored, waiting for the dispatcher
    Status.SCHEDULED: "ENROUTE",  # waiting for its send time
    Status.QUEUED: "ENROUTE",  # routed, waiting to be sent
    Status.SUBMITTED: "ACCEPTED",  # sent to the carrier, no receipt yet
    Status.DELIVERED: "DELIVERED",
    Status.UNDELIVERED: "UNDELIVERABLE",
    Status.EXPIRED: "EXPIRED",
    Status.REJECTED: "REJECTED",
    Status.CANCELLED: "DELETED",
    Status.UNKNOWN: "UNKNOWN",
}

# SMPP 3.4 section 5.2.28 message_state values.
STATE_CODES: dict[str, int] = {
    "ENROUTE": 1,
    "DELIVERED": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIVERABLE": 5,
    "ACCEPTED": 6,
    "UNKNOWN": 7,
    "REJECTED": 8,
}


def word(status: Status) -> str:
    return WORDS[status]
