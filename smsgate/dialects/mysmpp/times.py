"""The platform's local times, 'YYYY-MM-DD HH:MM:SS' in the account's zone: read and written."""

from __future__ import annotations

from datetime import datetime
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
