from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.money import format_amount, from_micros, price, to_micros
from smsgate.core.templates import render, render_each, variables
from smsgate.core.windows import Window, check_schedule, expiry


def test_money_is_exact() -> None:
    assert to_micros("0.35") == 350_000
    assert to_micros(1) == 1_000_000
    assert to_micros("0.1") * 3 == to_micros("0.3")
    assert from_micros(350_000) == Decimal("0.35")
    assert format_amount(1_234_567) == "1.23"
    assert format_amount(1_235_000) == "1.24"  # half up
    assert price(3, to_micros("0.35")) == to_micros("1.05")
    with pytest.raises(ValueError):
        to_micros("lots")
    with pytest.raises(ValueError):
        to_micros("NaN")


@pytest.mark.parametrize("places", [0, 1, 2, 4, 6, 8])
def test_format_amount_agrees_with_decimal_rounding(places: int) -> None:
    """The integer fast path writes what Decimal's half-up quantize writes, sign and all."""
    samples = [0, 1, -1, 5, -5, 499, 500, -500, 4_999, 5_000, 994_999, 995_000, -995_000]
    samples += [12_345_678_901, -12_345_678_901, 10**15 + 5 * 10**5, 350_000, 10_000]
    samples += list(range(-20_000, 20_000, 137))
    quantum = Decimal(1).scaleb(-places)
    for micros in samples:
        expected = str((Decimal(micros) / 1_000_000).quantize(quantum, rounding="ROUND_HALF_UP"))
        assert format_amount(micros, places) == expected, micros


def test_templates() -> None:
    text = "Dear %greeting% %name%! Here is an SMS"
    assert variables(text) == {"greeting", "name"}
    assert (
        render(text, {"greeting": "Mr.", "name": "Michael"}) == "Dear Mr. Michael! Here is an SMS"
    )
    assert render("100% sure %name%", {"name": "Zoya"}) == "100% sure Zoya"
    assert render("%missing% stays", {}) == "%missing% stays"
    with pytest.raises(GatewayError) as err:
        render("%missing%", {}, strict=True)
    assert err.value.code is ErrorCode.INVALID_FIELD


def _ts(text: str, tz: str = "Asia/Almaty") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_window_weekdays_9_to_21() -> None:
    window = Window(days=(0, 1, 2, 3, 4), start_minute=9 * 60, end_minute=21 * 60, tz="Asia/Almaty")
    monday_noon = _ts("2026-11-30 12:00")
    assert window.contains(monday_noon)
    assert window.next_open(monday_noon) == monday_noon
    monday_late = _ts("2026-11-30 22:30")
    assert window.next_open(monday_late) == _ts("2026-12-01 09:00")
    friday_late = _ts("2026-12-04 21:00")  # end is exclusive
    assert not window.contains(friday_late)
    assert window.next_open(friday_late) == _ts("2026-12-07 09:00")


def test_schedule_checks() -> None:
    now = 1_800_000_000.0
    assert check_schedule(None, now, max_ahead=86400) is None
    assert check_schedule(now + 3600, now, max_ahead=86400) == now + 3600
    assert check_schedule(now - 30, now, max_ahead=86400) is None  # due: send now
    with pytest.raises(GatewayError) as past:
        check_schedule(now - 3600, now, max_ahead=86400)
    assert past.value.code is ErrorCode.BAD_SCHEDULE
    with pytest.raises(GatewayError):
        check_schedule(now + 86401, now, max_ahead=86400)
    assert expiry(now, None, 300) == now + 300
    assert expiry(now, now + 100, 300) == now + 400


@pytest.mark.parametrize(
    "template",
    [
        *("%a%%b%", "%a%b%", "%%a%%", "x%a-b%y%c_1%z", "%a% %a% %unknown% 50% %"),
        *("Dear %a%!", "Dear %b%!", "%c_1%", "Dear %unknown%", "no vars", "%", ""),
    ],
)
def test_render_agrees_with_one_substitution_per_match(template: str) -> None:
    """The parsed-once template fills in exactly what re.sub over the text would."""
    values = {"a": 1, "b": None, "a-b": "AB", "c_1": 2.5}

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return "" if values[name] is None else str(values[name])

    assert render(template, values) == re.sub(r"%([A-Za-z0-9_\-]+)%", sub, template)


@pytest.mark.parametrize(
    "template",
    ["Dear %a%!", "%b%", "Dear %a-b%, %c_1%", "%unknown% here", "no vars", "50% %a%", "%", ""],
)
def test_render_each_renders_each_values_as_render_does(template: str) -> None:
    """A bulk's texts filled in at once: what render makes of each recipient's values, the
    template as written where a recipient has none (None or empty)."""
    each: list[dict[str, object] | None] = [
        {"a": "Zoya"},
        {"a": 7, "b": None},
        {"a": 2.5, "a-b": "AB", "c_1": "x"},
        {"b": "B"},
        {},
        None,
    ]
    expected = [render(template, values) if values else template for values in each]
    assert render_each(template, each) == expected
