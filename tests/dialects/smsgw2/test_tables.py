"""The dialect's tables: statuses, error codes, operators, schedule and time bounds rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.status import Status
from smsgate.dialects.smsgw2 import errors, operators, parse, statuses
from smsgate.dialects.smsgw2.errors import Smsgw2Error

SEED_WORDS = {
    "NEW", "SENT", "EN_ROUTE", "DELIVERED", "FAILED", "EXPIRED",
    "UNDELIVERABLE", "ACCEPTED", "INVALID", "REJECTED", "DELETED",
}  # fmt: skip


def test_every_canonical_status_has_a_seed_word() -> None:
    assert set(statuses.STATUS) == set(Status)
    assert set(statuses.STATUS.values()) <= SEED_WORDS
    assert statuses.STATUS == {
        Status.ACCEPTED: "NEW",
        Status.SCHEDULED: "NEW",
        Status.QUEUED: "NEW",
        Status.SUBMITTED: "SENT",
        Status.UNKNOWN: "EN_ROUTE",
        Status.DELIVERED: "DELIVERED",
        Status.UNDELIVERED: "UNDELIVERABLE",
        Status.EXPIRED: "EXPIRED",
        Status.REJECTED: "REJECTED",
        Status.CANCELLED: "DELETED",
    }


def test_status_words_depending_on_the_error() -> None:
    assert statuses.word(Status.UNDELIVERED, "system_error") == "FAILED"
    assert statuses.word(Status.REJECTED, "carrier_rejected") == "REJECTED"
    assert statuses.word(Status.REJECTED, "invalid_phone") == "UNDELIVERABLE"
    assert statuses.word(Status.REJECTED, None) == "REJECTED"


def test_code_table_is_the_seeds() -> None:
    assert set(errors.CODES) == (
        set(range(0, 38)) | {51, 52, 64, 66, 67, 68, 69, 72, 73, 80, 81, 83, 84, 85, 88}
        | {97, 98, 99, 100, 101, 102, 103, 192, 193, 194, 195, 196, 254, 255}
    )  # fmt: skip
    assert errors.CODES[23] == "Duplicate client_message_id, should be unique for each message."
    assert errors.CODES[11] == (
        "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
    )


def test_every_canonical_error_maps_into_the_table() -> None:
    for code in ErrorCode:
        assert errors.code_of(code.value) in errors.CODES
    assert errors.code_of("absent_subscriber") == 27
    assert errors.code_of("unknown_subscriber") == 1
    assert errors.code_of("expired") == 22
    assert errors.code_of("carrier_rejected") == 69
    assert errors.code_of("something new") == 255
    assert errors.code_of(None) is None
    assert errors.code_of("absent_subscriber", carrier_error="31") == 31  # the carrier's own
    assert errors.code_of("absent_subscriber", carrier_error="999") == 27


def test_synchronous_refusals() -> None:
    def render(code: ErrorCode, sender: str | None = None) -> tuple[int, int | None, str]:
        exc = errors.from_gateway(GatewayError(code), sender)
        return exc.status, exc.code, exc.message

    assert render(ErrorCode.SENDER_NOT_ALLOWED, "X") == (
        400,
        None,
        "User can't use alias X to send messages",
    )
    assert render(ErrorCode.INVALID_PHONE)[:2] == (400, 11)
    assert render(ErrorCode.EMPTY_TEXT)[1:] == (
        1,
        "Message length is invalid (can't send empty text)",
    )
    assert render(ErrorCode.BAD_SCHEDULE)[:2] == (400, 10012)
    assert render(ErrorCode.BODY_TOO_LARGE)[:2] == (413, None)
    assert render(ErrorCode.UNAVAILABLE)[:2] == (503, None)
    assert render(ErrorCode.STOP_LISTED)[:2] == (400, 30)


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("77010000000", "02"),
        ("77020000000", "02"),
        ("77750000000", "02"),
        ("77050000000", "01"),
        ("77770000000", "01"),
        ("77070000000", "77"),
        ("77470000000", "77"),
        ("77000000000", "07"),
        ("77080000000", "07"),
        ("77170000000", None),  # Astana landline
        ("79650000000", None),  # Russia
        ("7701000000", None),  # too short to tell
    ],
)
def test_rn_code(phone: str, code: str | None) -> None:
    assert operators.rn_code(phone) == code


TZ = "Asia/Almaty"
SLOT = datetime(2030, 3, 4, 9, 15, tzinfo=ZoneInfo(TZ))  # on the 15-minute grid


def test_schedule_ten_minutes_boundary() -> None:
    at = SLOT.timestamp()
    assert parse.schedule_of("2030-03-04 09:15:00", TZ, at - 600) == at
    with pytest.raises(Smsgw2Error) as refused:
        parse.schedule_of("2030-03-04 09:15:00", TZ, at - 599)
    assert refused.value.code == 10012


def test_schedule_ten_days_boundary() -> None:
    at = SLOT.timestamp()
    assert parse.schedule_of("2030-03-04 09:15:00", TZ, at - 10 * 86400) == at
    with pytest.raises(Smsgw2Error):
        parse.schedule_of("2030-03-04 09:15:00", TZ, at - 10 * 86400 - 1)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2030-03-04 09:00:00", True),
        ("2030-03-04 09:15:00", True),
        ("2030-03-04 09:30:00", True),
        ("2030-03-04 09:45:00", True),
        ("2030-03-04 09:14:00", False),
        ("2030-03-04 09:16:00", False),
        ("2030-03-04 09:15:01", False),
        ("2030-03-04 9:15", True),
        ("04.03.2030 09:15", False),
    ],
)
def test_schedule_grid(value: str, ok: bool) -> None:
    now = (SLOT - timedelta(days=1)).timestamp()
    if ok:
        parse.schedule_of(value, TZ, now)
    else:
        with pytest.raises(Smsgw2Error):
            parse.schedule_of(value, TZ, now)


@pytest.mark.parametrize(
    ("bounds", "local", "open_"),
    [
        ("def", "2030-03-04 08:59", False),  # a Monday
        ("def", "2030-03-04 09:00", True),
        ("def", "2030-03-04 17:59", True),
        ("def", "2030-03-04 18:00", False),
        ("def", "2030-03-09 12:00", False),  # a Saturday
        ("wd99", "2030-03-04 20:59", True),
        ("wd99", "2030-03-04 21:00", False),
        ("wd911", "2030-03-04 22:59", True),
        ("wd911", "2030-03-04 23:00", False),
        ("ad96", "2030-03-09 17:59", True),
        ("ad96", "2030-03-09 18:00", False),
        ("ad99", "2030-03-10 20:59", True),
        ("ad911", "2030-03-10 22:59", True),
        ("ad911", "2030-03-10 23:00", False),
    ],
)
def test_time_bounds_windows(bounds: str, local: str, open_: bool) -> None:
    window = parse.window_of(bounds, TZ)
    assert window is not None
    at = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ)).timestamp()
    assert window.contains(at) is open_
    assert parse.window_of("full", TZ) is None
