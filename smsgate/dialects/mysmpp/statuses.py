"""Canonical status -> the provider's `state` word, and its time format."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ...core.models import Account
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

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def state_of(status: Status) -> str:
    return STATE[status]


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def account_zone(account: Account) -> ZoneInfo:
    """The zone the account's local times are read and written in."""
    options = account.settings.get("mysmpp")
    name = options.get("timezone") if isinstance(options, dict) else None
    try:
        return zone(name if isinstance(name, str) and name else account.timezone or "UTC")
    except (ValueError, KeyError):
        return zone("UTC")


def local_time(ts: float | None, account: Account) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, account_zone(account)).strftime(TIME_FORMAT)


def parse_local(value: str, account: Account) -> float:
    """'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD HH:MM' in the account's zone -> UNIX seconds."""
    text = value.strip()
    for fmt in (TIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=account_zone(account)).timestamp()
    raise ValueError(f"not a date and time: {value[:40]!r}")
