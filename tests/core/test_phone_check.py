"""phone.check: the form, then whether the number can exist, except in an account's test
ranges; and the same through build_messages."""

from __future__ import annotations

import random

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Account, Message, Submission
from smsgate.core.numbering import could_exist
from smsgate.core.phone import check, check_all, normalize, parse_test_ranges
from smsgate.core.validate import Limits, build_message, build_messages


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+79651111111", "79651111111"),
        ("79651111111", "79651111111"),
        (79651111111, "79651111111"),
        ("+7 (965) 111-11-11", "79651111111"),
        ("0079651111111", "79651111111"),
        ("+992900000001", "992900000001"),
        ("+12015550123", "12015550123"),
        ("+442079460000", "442079460000"),
        ("+8613800138000", "8613800138000"),
    ],
)
def test_real_numbers_pass_in_every_form(raw: str | int, expected: str) -> None:
    assert check(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["+9991234567", "+1234567", "+79651234", "+7965123456789", "+8001234567", 9991234567],
)
def test_numbers_that_cannot_exist_are_invalid_phone(raw: str | int) -> None:
    with pytest.raises(GatewayError) as err:
        check(raw)
    assert err.value.code is ErrorCode.INVALID_PHONE
    assert "cannot exist" in str(err.value)


def test_the_form_is_checked_first_and_inside_test_ranges_too() -> None:
    for raw in ("abc", "+999123", "+0999123456", "+9991234567890123"):
        with pytest.raises(GatewayError) as err:
            check(raw, False, ("999",))
        assert err.value.code is ErrorCode.INVALID_PHONE, raw


def test_test_ranges_skip_only_the_existence_check() -> None:
    assert check("+9991234567", False, ("999",)) == "9991234567"
    assert check("+79650000000300", False, ("7965000000",)) == "79650000000300"
    with pytest.raises(GatewayError):
        check("+9981234567", False, ("999",))  # outside the range: Uzbekistan, too short


def test_the_trunk_8_is_read_before_any_other_country() -> None:
    """11 digits with a leading 8 and no '+' are +7 where the dialect says so, even when the
    digits would also be a number of an 8xx calling code (the fast path must not take them)."""
    rng = random.Random(3)
    tried = 0
    while tried < 200:
        raw = "8" + "".join(rng.choices("0123456789", k=10))
        if not could_exist(raw):
            continue
        tried += 1
        expected = normalize(raw, trunk_8_to_7=True)
        assert expected[0] == "7"
        if could_exist(expected):
            assert check(raw, True) == expected
        else:
            with pytest.raises(GatewayError):
                check(raw, True)
        assert check("+" + raw, True) == raw  # with '+' it is international


def test_the_fast_path_answers_as_the_slow_one() -> None:
    """check's one-look-up path for '+digits' and 'digits' against normalize + could_exist."""
    rng = random.Random(5)
    for _ in range(20_000):
        digits = rng.choice("123456789") + "".join(rng.choices("0123456789", k=rng.randint(6, 14)))
        for raw in ("+" + digits, digits):
            for trunk in (False, True):
                slow = normalize(raw, trunk_8_to_7=trunk)
                if could_exist(slow):
                    assert check(raw, trunk) == slow, (raw, trunk)
                else:
                    with pytest.raises(GatewayError):
                        check(raw, trunk)


def _each(raws: list[str | int], trunk: bool, ranges: tuple[str, ...]) -> list[str] | str:
    """check of each, or the first refusal's detail."""
    try:
        return [check(raw, trunk, ranges) for raw in raws]
    except GatewayError as exc:
        return exc.detail


def test_check_all_answers_as_check_of_each() -> None:
    """A bulk's phones checked at once: the numbers check returns, or its first refusal, for
    lists of the fast path's form and lists with one that is not (another form, a number
    that cannot exist, one in a test range, a trunk 8, digits that are not ASCII)."""
    rng = random.Random(7)
    odd = ["+9991234567", "+79651111111 ", "89651111111", "+", "", "+7965१११११११", 79651111111]
    odd += ["+0079651111111", "+7965111111a", "++79651111111", "79651111111", "+12015550123"]
    odd += ["879651111111"]  # a number after its first character, which is not "+"
    for _ in range(300):
        raws: list[str | int] = [
            "+7965" + "".join(rng.choices("0123456789", k=7)) for _ in range(rng.randint(1, 6))
        ]
        if rng.random() < 0.7:
            raws.insert(rng.randrange(len(raws) + 1), rng.choice(odd))
        for trunk, ranges in ((False, ()), (True, ("999",))):
            try:
                got: list[str] | str = check_all(raws, trunk, ranges)
            except GatewayError as exc:
                got = exc.detail
            assert got == _each(raws, trunk, ranges), (raws, trunk, ranges)
    assert check_all([]) == []


@pytest.mark.parametrize(
    ("setting", "ranges"),
    [
        (["+999", " +7000 ", "7001"], ("999", "7000", "7001")),
        ("+999, +7000", ("999", "7000")),
        (["", "+", "abc", "+99x", None, 5], ("5",)),  # an empty one would open every number
        (None, ()),
        ({"+999": True}, ()),
    ],
)
def test_the_test_numbers_setting(setting: object, ranges: tuple[str, ...]) -> None:
    assert parse_test_ranges(setting) == ranges


NOW = 1_800_000_000.0


def _account(**settings: object) -> Account:
    return Account(id=7, name="lab", price=1, senders=["ACME"], settings=settings)


def test_build_messages_refuses_what_cannot_exist_outside_test_ranges() -> None:
    items = [
        Submission(phone=p, text="hi", sender="ACME")
        for p in ("+79651234567", "+9991234567", "9991234568", "+1234567")
    ]
    plain = build_messages(_account(), "native", items, NOW, Limits())
    assert [type(m) for m in plain] == [Message, GatewayError, GatewayError, GatewayError]
    assert all(m.code is ErrorCode.INVALID_PHONE for m in plain[1:])  # type: ignore[union-attr]
    lab = build_messages(_account(test_numbers=["+999"]), "native", items, NOW, Limits())
    assert [m.phone for m in lab[:3]] == ["79651234567", "9991234567", "9991234568"]  # type: ignore[union-attr]
    assert isinstance(lab[3], GatewayError)  # +1 234567: not in the range
    alone = build_message(_account(test_numbers="+999"), "native", items[1], NOW, Limits())
    assert alone.phone == "9991234567"
    with pytest.raises(GatewayError):
        build_message(_account(), "native", items[1], NOW, Limits())
