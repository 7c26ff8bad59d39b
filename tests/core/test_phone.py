from __future__ import annotations

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.phone import country_of, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+79651111111", "79651111111"),
        ("79651111111", "79651111111"),
        (79651111111, "79651111111"),
        ("+7 (965) 111-11-11", "79651111111"),
        (" +7 965 111 11 11 ", "79651111111"),
        ("0079651111111", "79651111111"),
        ("992900000001", "992900000001"),
        ("+992.90.000.0001", "992900000001"),
    ],
)
def test_accepts_what_clients_send(raw: str | int, expected: str) -> None:
    assert normalize(raw) == expected


def test_trunk_prefix_8_only_where_asked() -> None:
    assert normalize("89651111111", trunk_8_to_7=True) == "79651111111"
    assert normalize("89651111111") == "89651111111"
    # '+8…' is international: never rewritten
    assert normalize("+89651111111", trunk_8_to_7=True) == "89651111111"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "+",
        "12345",
        "1234567890123456",
        "0123456789",
        "+7965111111x",
        True,
        -5,
        0,
        None,
        7.5,
        "७९६५११११",
    ],
)
def test_refuses_what_is_not_a_number(raw: object) -> None:
    with pytest.raises(GatewayError) as err:
        normalize(raw)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.INVALID_PHONE


def test_country_rules_via_phonenumbers() -> None:
    assert country_of("79651111111") == "RU"
    assert country_of("77011234567") == "KZ"
    assert country_of("992927777777") == "TJ"
