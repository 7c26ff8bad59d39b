"""SMPP time strings (section 7.1.1): schedule_delivery_time, validity_period, final_date.

Absolute: ``YYMMDDhhmmsstnnp`` (t tenths of a second, nn quarter hours from UTC, p ``+``/``-``).
Relative: ``YYMMDDhhmmss000R`` (a duration). An empty string means "not given".
"""

from __future__ import annotations

import calendar
import time


def parse_time(value: str, now: float) -> float | None:
    """UNIX seconds for an SMPP time string, or None if empty. Raises ValueError if malformed."""
    if not value:
        return None
    if len(value) != 16 or not value[:15].isdigit() or value[15] not in "+-R":
        raise ValueError(f"bad SMPP time {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    tenths = int(value[12])
    if value[15] == "R":
        # Years and months as 365 and 30 days: the usual reading of a relative validity.
        return now + ((yy * 365 + mo * 30 + dd) * 86400 + hh * 3600 + mi * 60 + ss)
    quarters = int(value[13:15])
    if not (1 <= mo <= 12 and 1 <= dd <= 31 and hh < 24 and mi < 60 and ss < 60 and quarters <= 48):
        raise ValueError(f"bad SMPP time {value!r}")
    try:
        local = calendar.timegm((2000 + yy, mo, dd, hh, mi, ss, 0, 0, 0))
    except (OverflowError, ValueError):
        raise ValueError(f"bad SMPP time {value!r}") from None
    offset = quarters * 900 * (1 if value[15] == "+" else -1)
    return local - offset + tenths / 10


def format_time(at: float | None) -> str:
    """The absolute SMPP form of UNIX seconds, in UTC (``...000+``); empty for None."""
    if at is None:
        return ""
    t = time.gmtime(at)
    return time.strftime("%y%m%d%H%M%S", t) + f"{int(at * 10) % 10}00+"
