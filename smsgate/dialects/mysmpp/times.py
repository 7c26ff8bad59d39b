"""The platform's local times, 'YYYY-MM-DD HH:MM:SS' in the account's zone: read and written."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ...core.models import Account
from .settings import options

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def account_zone(account: Account) -> ZoneInfo:
    """The zone the account's local times are read and written in."""
    name = options(account).get("timezone")
    try:
        return zone(name if isinstance(name, str) and name else account.timezone or "UTC")
    except (ValueError, KeyError):
        return zone("UTC")


def local_time(ts: float | None, account: Account) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, account_zone(account)).strftime(TIME_FORMAT)


_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?", re.ASCII)


def parse_local(value: str, account: Account) -> float:
    """'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD HH:MM' in the account's zone -> UNIX seconds.

    A day past the month's end rolls over into the next month, as the platform's PHP does
    (its own incoming-SMS example asks for "2012-02-31 12:23:00": 2 March)."""
    found = _LOCAL.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"not a date and time: {value[:40]!r}")
    year, month, day, hour, minute = (int(g) for g in found.groups()[:5])
    second = int(found.group(6) or 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise ValueError(f"not a date and time: {value[:40]!r}")
    try:
        first = datetime(year, month, 1, hour, minute, second, tzinfo=account_zone(account))
    except ValueError:  # year 0
        raise ValueError(f"not a date and time: {value[:40]!r}") from None
    return (first + timedelta(days=day - 1)).timestamp()
