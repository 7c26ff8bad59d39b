"""Messages that are not texts (core.payload), the HLR answer's text (core.hlr), and
core.segments.fit (a text cut to a number of parts).

Part sizes are 3GPP TS 23.040's: 140 octets of user data per SMS, a 6-octet concatenation UDH
(8-bit reference) leaving 134.
"""

from __future__ import annotations

import pytest

from smsgate.core import hlr, payload
from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Account, Submission
from smsgate.core.segments import fit, segment
from smsgate.core.validate import Limits, build_message, build_messages

WAP_UDH = bytes.fromhex("0605040B8423F0")  # port addressing, 16-bit: 2948 <- 9200 (WAP push)
ACCOUNT = Account(id=1, name="acme", price=500_000)
NOW = 1_800_000_000.0


def test_binary_without_udh_is_cut_in_134_octet_parts() -> None:
    assert payload.binary_parts(bytes(140), False) == [(b"", bytes(140))]
    parts = payload.binary_parts(bytes(range(141)), False, ref=7)
    assert [len(d) for _, d in parts] == [134, 7]
    assert [u for u, _ in parts] == [bytes.fromhex("050003070201"), bytes.fromhex("050003070202")]
    assert b"".join(d for _, d in parts) == bytes(range(141))
    assert len(payload.binary_parts(bytes(134 * 3), False)) == 3
    assert len(payload.binary_parts(bytes(134 * 3 + 1), False)) == 4


def test_binary_with_udh_keeps_its_elements_in_every_part() -> None:
    data = WAP_UDH + bytes(133)  # 7 + 133 = 140: one SMS
    assert payload.binary_parts(data, True) == [(WAP_UDH, bytes(133))]
    data = WAP_UDH + bytes(range(134))  # 141: two parts
    parts = payload.binary_parts(data, True, ref=1)
    # each part: UDHL 11 = the port element (6) + a concatenation element (5); 128 octets left
    assert [u for u, _ in parts] == [
        bytes.fromhex("0B05040B8423F00003010201"),
        bytes.fromhex("0B05040B8423F00003010202"),
    ]
    assert [len(d) for _, d in parts] == [128, 6]
    assert all(len(u) + len(d) <= 140 for u, d in parts)


def test_binary_that_cannot_be_sent() -> None:
    concatenated = bytes.fromhex("050003010201") + bytes(135)  # its sender cut it already
    with pytest.raises(ValueError):
        payload.binary_parts(concatenated, True)
    with pytest.raises(ValueError):
        payload.binary_parts(bytes.fromhex("0A0001") + bytes(200), True)  # not a whole UDH
    with pytest.raises(ValueError):
        payload.binary_parts(b"", False)
    with pytest.raises(ValueError):
        payload.octets("0G")
    with pytest.raises(ValueError):
        payload.octets("ABC")


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (WAP_UDH + b"\x01", 7),
        (bytes.fromhex("050003010201") + b"x", 6),
        (bytes.fromhex("0500030102"), None),  # the UDH is longer than the data
        (bytes.fromhex("03000201") + b"x", None),  # UDHL 3, but its element needs 4
        (bytes.fromhex("0001"), None),
        (b"Hello", None),
    ],
)
def test_udh_size(data: bytes, size: int | None) -> None:
    assert payload.udh_size(data) == size


def test_counts_and_prices_through_validate() -> None:
    limits = Limits()
    hex_data = (WAP_UDH + bytes(200)).hex()
    m = build_message(
        ACCOUNT,
        "smsc",
        Submission(phone="79651111111", text=hex_data, encoding="binary_udh"),
        NOW,
        limits,
    )
    assert (m.encoding, m.segments, m.price, m.text) == ("binary_udh", 2, 1_000_000, hex_data)
    hlr_query = Submission(phone="79651111111", text="", encoding="hlr", price=100_000)
    ping = Submission(phone="79651111112", text="", encoding="ping")
    built = build_messages(ACCOUNT, "smsc", [hlr_query, ping], NOW, limits)
    assert [(m.encoding, m.segments, m.price) for m in built] == [  # type: ignore[union-attr]
        ("hlr", 1, 100_000),
        ("ping", 1, 500_000),
    ]
    refused = build_messages(
        ACCOUNT,
        "smsc",
        [
            Submission(phone="79651111111", text="zz", encoding="binary"),
            Submission(phone="79651111111", text="00" * (134 * 11), encoding="binary"),
            Submission(phone="79651111111", text="", encoding="mms"),
        ],
        NOW,
        limits,
    )
    assert [e.code for e in refused if isinstance(e, GatewayError)] == [
        ErrorCode.INVALID_FIELD,
        ErrorCode.TEXT_TOO_LONG,
        ErrorCode.INVALID_FIELD,
    ]


def test_hlr_answer_text_round_trip() -> None:
    answer = hlr.HlrAnswer(
        imsi="250011234567890", msc="79160000001", mcc="250", mnc="01", cn="Russia",
        net="MTS: Moscow", rcn="", rnet="",
    )  # fmt: skip
    text = hlr.to_text(answer)
    # SMSC.ru's SMPP receipt form, values URL-encoded
    assert text == (
        "imsi:250011234567890 msc:79160000001 mcc:250 mnc:01 cn:Russia net:MTS%3A%20Moscow "
        "rcn: rnet:"
    )
    assert hlr.from_text(text) == answer
    assert hlr.from_text("unknown_subscriber") is None and hlr.from_text(None) is None


@pytest.mark.parametrize(
    ("text", "parts", "expected"),
    [
        ("a" * 500, 2, "a" * 306),  # 2 x 153
        ("a" * 160, 1, "a" * 160),
        ("a" * 161, 1, "a" * 160),
        ("ж" * 100, 1, "ж" * 70),
        ("ж" * 200, 2, "ж" * 134),  # 2 x 67
        ("a" * 150 + "ж" * 10, 1, "a" * 150),  # cut before the Cyrillic: GSM 7-bit again
        ("€" * 100, 1, "€" * 80),  # extension characters take two septets
        ("short", 3, "short"),
        ("abc", 0, ""),
    ],
)
def test_fit(text: str, parts: int, expected: str) -> None:
    cut = fit(text, parts)
    assert cut == expected
    assert segment(cut).count <= max(parts, 0)
