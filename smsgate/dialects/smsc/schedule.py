"""SMSC.ru's `time` (when to send) and `valid` (how long to try) parameters.

`time`: `DDMMYYhhmm`, `DD.MM.YY hh:mm[:ss]` (also with a 4-digit year), `h1-h2` (only between
those hours), `0<unix time>`, or `+m` (minutes from now); local times in the account's zone.
`valid`: `hh:mm` or whole hours, from 1 minute to 24 hours.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from ...core.errors import ErrorCode, GatewayError
from ...core.windows import Window

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_COMPACT = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
_HOURS = re.compile(r"^(\d{1,2})-(\d{1,2})$")
MAX_VALID = 24 * 3600.0


def _bad(value: str) -> GatewayError:
    return GatewayError(ErrorCode.BAD_SCHEDULE, f"time {value[:40]!r} is not a valid date")


def _local(
    zone: str, year: int, month: int, day: int, hour: int, minute: int, second: int
) -> float:
    if year < 100:
        year += 2000
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone)).timestamp()
    except ValueError:
        raise GatewayError(ErrorCode.BAD_SCHEDULE, "time is not a valid date") from None


def parse_time(value: str, now: float, zone: str) -> tuple[float | None, Window | None]:
    """(not_before, window) for a `time` parameter; GatewayError(BAD_SCHEDULE) if malformed."""
    value = value.strip()
    if not value or value == "0":
        return None, None
    if value.startswith("+"):
        if not value[1:].isdigit():
            raise _bad(value)
        return now + int(value[1:]) * 60.0, None
    if value.startswith("0") and len(value) > 10 and value.isdigit():
        return float(int(value)), None
    if m := _HOURS.match(value):
        start, end = int(m[1]), int(m[2])
        if not (0 <= start < end <= 24):
            raise _bad(value)
        return None, Window(start_minute=start * 60, end_minute=end * 60, tz=zone)
    if m := _COMPACT.match(value):
        day, month, year, hour, minute = (int(g) for g in m.groups())
        return _local(zone, year, month, day, hour, minute, 0), None
    if m := _DOTTED.match(value):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        return _local(zone, year, month, day, hour, minute, second), None
    raise _bad(value)


def parse_valid(value: str) -> float | None:
    """Validity in seconds for `valid` (`hh:mm` or hours), or None when not given."""
    value = value.strip()
    if not value:
        return None
    hours, sep, minutes = value.partition(":")
    if not hours.isdigit() or (sep and not (minutes.isdigit() and len(minutes) == 2)):
        raise GatewayError(ErrorCode.BAD_VALIDITY, "valid must be hh:mm or hours", field="valid")
    seconds = int(hours) * 3600.0 + (int(minutes) * 60.0 if sep else 0.0)
    if not 60.0 <= seconds <= MAX_VALID:
        raise GatewayError(ErrorCode.BAD_VALIDITY, "valid must be 00:01..24:00", field="valid")
    return seconds


_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "sch",
            "'",
            "y",
            "'",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def translit(text: str) -> str:
    """Russian letters to Latin (SMSC.ru `translit=1`), keeping the case of each letter."""
    out = []
    for ch in text:
        low = ch.lower()
        latin = _TRANSLIT.get(low)
        if latin is None:
            out.append(ch)
        elif ch != low:
            out.append(latin[:1].upper() + latin[1:])
        else:
            out.append(latin)
    return "".join(out)
