"""SMSC.ru's `time` (when to send), `tz` (the zone of `time`), `period` and `freq` (a send spread
over time) and `valid` (how long to try) parameters.

`time`: `DDMMYYhhmm`, `DD.MM.YY hh:mm[:ss]` (also with a 4-digit year), `h1-h2` (only between
those hours), `0<unix time>`, or `+m` (minutes from now); local times in the zone `tz` names
(hours from Moscow time), or the account's zone without it.
`period`: hours (0.1 to 720) over which the recipients are sent; `freq`: minutes (1 to 1440)
between the groups they are sent in (1 without it). Without `period`, `freq` does nothing.
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


MOSCOW_UTC_OFFSET = 3  # hours; Moscow has kept UTC+3 all year since 2014


def zone_of(tz: str, account_zone: str) -> str:
    """The zone `time` is read in: `tz` hours from Moscow time (a whole number; UTC-12 to
    UTC+14 in all), or the account's zone when `tz` is not given."""
    tz = tz.strip()
    if not tz:
        return account_zone
    try:
        hours = int(tz) + MOSCOW_UTC_OFFSET
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, "tz must be whole hours", field="tz") from None
    if not -12 <= hours <= 14:
        raise GatewayError(ErrorCode.INVALID_FIELD, "tz is out of range", field="tz")
    # POSIX-style names: Etc/GMT-5 is five hours *ahead* of UTC.
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"


MIN_PERIOD, MAX_PERIOD = 0.1, 720.0  # hours
MIN_FREQ, MAX_FREQ = 1, 1440  # minutes


def parse_spread(period: str, freq: str) -> tuple[float, float] | None:
    """(period, step) in seconds for `period` and `freq`, or None when the send is not
    spread; GatewayError(INVALID_FIELD) for values out of SMSC.ru's ranges."""
    period, freq = period.strip(), freq.strip()
    if not period or period == "0":
        return None
    try:
        hours = float(period)
        minutes = int(freq) if freq else MIN_FREQ
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, "period and freq must be numbers") from None
    if not (MIN_PERIOD <= hours <= MAX_PERIOD and MIN_FREQ <= minutes <= MAX_FREQ):
        raise GatewayError(ErrorCode.INVALID_FIELD, "period or freq is out of range")
    return hours * 3600.0, minutes * 60.0


def spread(count: int, start: float, period: float, step: float) -> list[float]:
    """When each of `count` recipients (in request order) is sent: in groups `step` seconds
    apart from `start`, as many groups as `period` holds, the recipients shared out evenly
    (three recipients over two hours at one a minute go at 0, 40 and 80 minutes)."""
    groups = max(1, int(period // step))
    return [start + (i * groups // count) * step for i in range(count)]


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
