"""The dialect's tables: status words, error codes/texts/HTTP statuses, hash cost."""

from __future__ import annotations

import time

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.status import Status
from smsgate.dialects.osonsms import auth, errors, statuses

from .conftest import sha256


def test_every_status_has_a_seed_word() -> None:
    seed = {
        "ENROUTE",
        "DELIVERED",
        "EXPIRED",
        "DELETED",
        "UNDELIVERABLE",
        "ACCEPTED",
        "UNKNOWN",
        "REJECTED",
    }
    assert set(statuses.WORDS) == set(Status)
    assert set(statuses.WORDS.values()) == seed
    expected = {
        Status.ACCEPTED: "ENROUTE",
        Status.SCHEDULED: "ENROUTE",
        Status.QUEUED: "ENROUTE",
        Status.SUBMITTED: "ACCEPTED",
        Status.DELIVERED: "DELIVERED",
        Status.UNDELIVERED: "UNDELIVERABLE",
        Status.EXPIRED: "EXPIRED",
        Status.REJECTED: "REJECTED",
        Status.CANCELLED: "DELETED",
        Status.UNKNOWN: "UNKNOWN",
    }
    assert expected == statuses.WORDS
    assert set(statuses.STATE_CODES) == seed  # SMPP message_state 1..8
    assert sorted(statuses.STATE_CODES.values()) == list(range(1, 9))


def test_seed_error_table() -> None:
    # (HTTP status, code, text) exactly as the seed writes them.
    seed = {
        ErrorCode.DUPLICATE: (409, 108, "Duplicate txn_id. It should be unique."),
        ErrorCode.UNAUTHORIZED: (401, 105, "Inactive or non-existent account"),
        ErrorCode.SENDER_NOT_ALLOWED: (422, 107, "Incorrect sender"),
        ErrorCode.INSUFFICIENT_BALANCE: (
            402,
            119,
            "Balance overdraft limit has reached. Please top up your balance.",
        ),
        ErrorCode.UNAVAILABLE: (500, 109, "Unable to store message."),
        ErrorCode.NETWORK_ERROR: (599, 113, "Unable to connect to smsc host."),
        ErrorCode.IP_NOT_ALLOWED: (401, 114, "Host is not in whitelist"),
    }
    for code, want in seed.items():
        p = errors.problem(GatewayError(code))
        assert (p.status, p.code, p.msg) == want, code
    assert errors.FALLBACK[1:] == (112, "Error while sending sms.")
    assert errors.DENIED[106].msg == "Incorrect hash" and errors.DENIED[106].status == 422
    assert errors.MISSING_SEND == (
        "One of the mandatory variables (from,phone_number,msg,login,str_hash,txn_id) not set."
    )


def test_every_canonical_error_is_mapped() -> None:
    for code in ErrorCode:
        p = errors.problem(GatewayError(code))
        assert 100 <= p.code < 200 and 400 <= p.status < 600


def test_hashes_are_the_seed_strings() -> None:
    v = {"txn_id": "7", "login": "acme", "from": "ACME", "phone_number": "992900000001"}
    assert auth.str_hash(*auth.send_parts(v, "s")) == sha256("7;acme;ACME;992900000001;s")
    assert auth.str_hash(*auth.query_parts(v, "s")) == sha256("acme;7;s")
    assert auth.str_hash(*auth.balance_parts(v, "s")) == sha256("7;acme;s")
    assert auth.str_hash(*auth.bulk_parts(v, "s")) == sha256("7;acme;ACME;s")


def test_hash_verification_does_not_cap_throughput() -> None:
    """Measured: one verification costs about a microsecond; 100k stay far under a second."""
    v = {"txn_id": "7", "login": "acme", "from": "ACME", "phone_number": "992900000001"}
    good = auth.str_hash(*auth.send_parts(v, "salt"))
    started = time.perf_counter()
    for i in range(100_000):
        v["txn_id"] = str(i)
        auth.hash_matches(good, *auth.send_parts(v, "salt"))
    per_call = (time.perf_counter() - started) / 100_000
    assert per_call < 20e-6, per_call  # the HTTP front costs ~50 us per request
