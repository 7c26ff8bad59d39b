"""The provider's clock (Asia/Dushanbe, UTC+5) and its 'YYYY-MM-DD HH24:MI:SS' format: the
timestamps of every answer and the cabinet's `send_at`."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

PROVIDER_ZONE = "Asia/Dushanbe"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def timestamp(name: str = PROVIDER_ZONE) -> str:
    """Now as 'YYYY-MM-DD HH24:MI:SS' on the provider's clock."""
    return datetime.now(zone(name)).strftime(TIME_FORMAT)


def local(ts: float | None, name: str = PROVIDER_ZONE) -> str | None:
    """A time as the provider writes it, or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, zone(name)).strftime(TIME_FORMAT)
