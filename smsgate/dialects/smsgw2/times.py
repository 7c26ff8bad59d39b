"""SMSGW2's date-time format, 'YYYY-MM-DD HH:mm:ss' in the account's zone: read and written."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_time(ts: float | None, tz: str) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, zone(tz)).strftime(TIME_FORMAT)


def parse_time(value: str, tz: str) -> datetime:
    """'YYYY-MM-DD HH:mm:ss' (a 'T' and missing seconds tolerated) in the account's zone."""
    text = value.strip().replace("T", " ")
    for fmt in (TIME_FORMAT, "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone(tz))
        except ValueError:
            continue
    raise ValueError(value)
