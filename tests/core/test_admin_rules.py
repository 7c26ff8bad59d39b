"""The console's pure rules: login token buckets, ledger entries, roles, names, passwords."""

from __future__ import annotations

import pytest

from smsgate.core import passwords
from smsgate.core.admin import (
    MAX_MONEY,
    AdminUser,
    check_role,
    check_username,
    ledger_balance,
    may_write,
    session_key,
    session_live,
)
from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.throttle import Bucket, Limit, take, take_all

LIMIT = Limit(burst=3, rate=0.5)  # 3 at once, then one every 2 s


def test_a_bucket_allows_its_burst_then_refills() -> None:
    bucket = None
    for _ in range(3):
        bucket, wait = take(bucket, LIMIT, 100.0)
        assert wait == 0.0
    refused, wait = take(bucket, LIMIT, 100.0)
    assert wait == pytest.approx(2.0) and refused.tokens == pytest.approx(0.0)
    assert take(refused, LIMIT, 101.0)[1] == pytest.approx(1.0)  # half a token back
    assert take(refused, LIMIT, 102.0)[1] == 0.0
    full, wait = take(Bucket(0.0, 0.0), LIMIT, 10_000.0)  # never more than the burst
    assert wait == 0.0 and full.tokens == pytest.approx(2.0)
    assert take(Bucket(1.0, 200.0), LIMIT, 100.0)[0].tokens == 0.0  # a clock going back: no gain


def test_every_key_must_allow_and_a_refusal_takes_nothing() -> None:
    empty_ip = Bucket(0.0, 100.0)
    buckets, wait = take_all({"user:a": None, "ip:x": empty_ip}, LIMIT, 100.0)
    assert wait == pytest.approx(2.0)
    assert buckets == {"user:a": Bucket(3.0, 100.0), "ip:x": empty_ip}  # the user's untouched
    buckets, wait = take_all({"user:a": None, "ip:y": None}, LIMIT, 100.0)
    assert wait == 0.0 and {b.tokens for b in buckets.values()} == {2.0}
    _, wait = take_all({"user:a": Bucket(0.5, 100.0), "ip:x": Bucket(0.0, 100.0)}, LIMIT, 100.0)
    assert wait == pytest.approx(2.0)  # the longer of the two waits


@pytest.mark.parametrize(
    ("kind", "balance", "amount", "after"),
    [
        ("top_up", 100, 50, 150),
        ("debit", 100, 100, 0),
        ("debit", 100, 101, ErrorCode.INSUFFICIENT_BALANCE),
        ("top_up", 100, 0, ErrorCode.INVALID_FIELD),
        ("debit", 100, -5, ErrorCode.INVALID_FIELD),
        ("top_up", MAX_MONEY, 1, ErrorCode.INVALID_FIELD),
        ("top_up", 0, MAX_MONEY + 1, ErrorCode.INVALID_FIELD),
        ("correction", 100, 0, 0),
        ("correction", 0, 999_650_000, 999_650_000),
        ("correction", 100, -1, ErrorCode.INVALID_FIELD),
        ("import", 5, 1_000_000_000, 1_000_000_000),
        ("top_up", None, 5, ErrorCode.NOT_FOUND),
        ("correction", None, 5, ErrorCode.NOT_FOUND),
    ],
)
def test_ledger_entries(kind: str, balance: int | None, amount: int, after: object) -> None:
    if isinstance(after, ErrorCode):
        with pytest.raises(GatewayError) as err:
            ledger_balance(kind, balance, amount)  # type: ignore[arg-type]
        assert err.value.code is after
    else:
        assert ledger_balance(kind, balance, amount) == after  # type: ignore[arg-type]


def test_roles_names_and_sessions() -> None:
    operator = AdminUser(id=1, username="a", role="operator", created_at=0.0)
    viewer = AdminUser(id=2, username="b", role="readonly", created_at=0.0)
    assert may_write(operator) and not may_write(viewer)
    assert check_role("readonly") == "readonly"
    with pytest.raises(GatewayError):
        check_role("root")
    assert check_username("ops.team@example") == "ops.team@example"
    for bad in ("", " alice", "a b", "-x", "x" * 65, "al\nice"):
        with pytest.raises(GatewayError):
            check_username(bad)
    assert session_key("t") != "t" and len(session_key("t")) == 64
    assert session_live(10.0, 9.9) and not session_live(10.0, 10.0)


def test_passwords_are_salted_scrypt_and_checked_in_full() -> None:
    one, two = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert one != two and one.startswith("scrypt$16384$8$1$")  # a salt each
    assert passwords.verify_password("correct horse", one)
    assert not passwords.verify_password("correct hors", one)
    assert not passwords.verify_password("correct horse ", one)
    assert not passwords.verify_password("correct horse", passwords.DUMMY_HASH)
    for broken in ("", "scrypt$x", "sha256$a$b", one.replace("scrypt", "bcrypt")):
        assert not passwords.verify_password("correct horse", broken)
    assert not passwords.verify_password("x" * (passwords.MAX_LENGTH + 1), one)
    assert passwords.check_new_password("short") is not None
    assert passwords.check_new_password("long enough") is None
