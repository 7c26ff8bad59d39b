"""Sending windows (e.g. weekdays 9-21 in the account's time zone) and schedule arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec

from .errors import ErrorCode, GatewayError


class Window(msgspec.Struct, frozen=True):
    """Allowed weekdays (0=Monday) and minutes of the day [start, end) in time zone `tz`."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    start_minute: int = 0
    end_minute: int = 24 * 60
    tz: str = "UTC"

    def contains(self, ts: float) -> bool:
        local = datetime.fromtimestamp(ts, _zone(self.tz))
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start_minute <= minute < self.end_minute

    def next_open(self, ts: float) -> float:
        """`ts` itself when inside the window, else the start of the next opening."""
        if self.contains(ts):
            return ts
        zone = _zone(self.tz)
        local = datetime.fromtimestamp(ts, zone)
        for day in range(8):
            date = (local + timedelta(days=day)).date()
            if date.weekday() not in self.days:
                continue
            start = datetime(date.year, date.month, date.day, tzinfo=zone) + timedelta(
                minutes=self.start_minute
            )
            if start.timestamp() > ts:
                return start.timestamp()
        raise ValueError("window never opens")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_zone(name: str) -> str:
    try:
        _zone(name)
    except Exception as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


def check_schedule(
    not_before: float | None, now: float, *, min_ahead: float = 0.0, max_ahead: float
) -> float | None:
    """Validate a requested send time. None or a time already due means 'now'."""
    if not_before is None:
        return None
    if not_before < now - 60 and min_ahead <= 0:
        raise GatewayError(ErrorCode.BAD_SCHEDULE, "scheduled time is in the past")
    if min_ahead > 0 and not_before < now + min_ahead:
        raise GatewayError(ErrorCode.BAD_SCHEDULE, "scheduled time is too soon")
    if not_before > now + max_ahead:
        raise GatewayError(ErrorCode.BAD_SCHEDULE, "scheduled time is too far ahead")
    return not_before if not_before > now else None


def expiry(now: float, not_before: float | None, ttl: float) -> float:
    """When a message stops being worth sending: ttl after it was due."""
    return max(now, not_before or now) + ttl
