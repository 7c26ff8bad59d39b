"""Delivery receipt formatting and forgiving parsing."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.smpp.constants import MessageState, Tag
from smsgate.smpp.pdu import DeliverSm
from smsgate.smpp.receipt import (
    STATS,
    DeliveryReceipt,
    id_variants,
    ids_match,
    normalize_id,
    parse_date,
    parse_receipt,
    receipt_from_pdu,
)

STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2405011230 done date:2405011231"
    " stat:DELIVRD err:000 text:Hello world"
)


def test_format_standard() -> None:
    receipt = DeliveryReceipt(
        id="0123456789",
        stat="DELIVRD",
        sub=1,
        dlvrd=1,
        submit_date=datetime(2024, 5, 1, 12, 30),
        done_date=datetime(2024, 5, 1, 12, 31),
        err="000",
        text="Hello world",
    )
    assert receipt.format() == STANDARD
    assert receipt.message_state is MessageState.DELIVERED


def test_format_cuts_text_to_20() -> None:
    assert DeliveryReceipt(id="1", text="x" * 30).format().endswith("text:" + "x" * 20)


def test_parse_standard() -> None:
    r = parse_receipt(STANDARD)
    assert r == DeliveryReceipt(
        id="0123456789",
        stat="DELIVRD",
        sub=1,
        dlvrd=1,
        submit_date=datetime(2024, 5, 1, 12, 30),
        done_date=datetime(2024, 5, 1, 12, 31),
        err="000",
        text="Hello world",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # lower case keys and stat, no text
        (
            "id:abc123 sub:001 dlvrd:000 submit date:2405011230 done date:2405011231"
            " stat:undeliv err:001",
            {"id": "abc123", "stat": "UNDELIV", "err": "001", "text": "", "dlvrd": 0},
        ),
        # upper case keys, extra spaces, seconds in dates
        (
            "ID: 7F3A  SUB: 1  DLVRD: 1  SUBMIT DATE: 240501123005  DONE DATE: 240501123107"
            "  STAT: DELIVRD  ERR: 0  TEXT: hi",
            {
                "id": "7F3A",
                "stat": "DELIVRD",
                "submit_date": datetime(2024, 5, 1, 12, 30, 5),
                "done_date": datetime(2024, 5, 1, 12, 31, 7),
                "err": "0",
                "text": "hi",
            },
        ),
        # submit_date with underscore, four-digit year, long stat word
        (
            "id:42 submit_date:20240501123000 done_date:20240501123100 stat:DELIVERED err:000",
            {"id": "42", "stat": "DELIVRD", "done_date": datetime(2024, 5, 1, 12, 31)},
        ),
        # only id and stat; text containing keys
        (
            "id:1 stat:EXPIRED text:id:2 stat:DELIVRD",
            {"id": "1", "stat": "EXPIRED", "text": "id:2 stat:DELIVRD", "sub": 1},
        ),
        # bad date and non-numeric sub become defaults
        (
            "id:9 sub:x dlvrd:y submit date:2413991230 done date:24 stat:REJECTD err:0A1",
            {"id": "9", "sub": 1, "dlvrd": 0, "submit_date": None, "done_date": None},
        ),
        # missing stat
        ("id:5 err:000", {"stat": "UNKNOWN"}),
    ],
)
def test_parse_forgiving(raw: str, expected: dict[str, object]) -> None:
    receipt = parse_receipt(raw)
    for key, value in expected.items():
        assert getattr(receipt, key) == value, key


def test_parse_bytes() -> None:
    assert parse_receipt(STANDARD.encode()).id == "0123456789"


@pytest.mark.parametrize("raw", ["", "hello", "stat:DELIVRD err:000", "msgid:5 stat:DELIVRD"])
def test_not_a_receipt(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_receipt(raw)


def test_stats_map_to_message_states() -> None:
    assert STATS["ENROUTE"] == 1 and STATS["REJECTD"] == 8
    for stat in STATS:
        assert parse_receipt(f"id:1 stat:{stat.lower()}").stat == stat


def test_parse_date() -> None:
    assert parse_date("2405011230") == datetime(2024, 5, 1, 12, 30)
    assert parse_date("24-05-01 12:30:59") == datetime(2024, 5, 1, 12, 30, 59)
    assert parse_date("") is None
    assert parse_date("2405011290") is None


def test_receipt_from_pdu_prefers_tlvs() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:255 sub:001 dlvrd:001 submit date:2405011230 done date:2405011231"
        b" stat:DELIVRD err:000 text:",
        tlvs={Tag.RECEIPTED_MESSAGE_ID: "ff", Tag.MESSAGE_STATE: MessageState.UNDELIVERABLE},
    )
    receipt = receipt_from_pdu(pdu)
    assert receipt.id == "ff" and receipt.stat == "UNDELIV"


def test_receipt_from_pdu_tlv_only() -> None:
    pdu = DeliverSm(esm_class=0x04, tlvs={Tag.RECEIPTED_MESSAGE_ID: "abc", Tag.MESSAGE_STATE: 2})
    assert receipt_from_pdu(pdu) == DeliveryReceipt(id="abc", stat="DELIVRD")
    with pytest.raises(ValueError):
        receipt_from_pdu(DeliverSm(short_message=b"no receipt here"))


def test_ids_hex_and_decimal() -> None:
    assert ids_match("ff", "255")
    assert ids_match("255", "FF")
    assert ids_match("00001A2B", "1a2b")
    assert ids_match("0042", "42")
    assert not ids_match("abc-1", "abc-2")
    assert normalize_id(" 000 ") == "0"
    assert id_variants("10", hex_to_dec=False) == {"10", "a"}


@given(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20).filter(
        lambda s: ":" not in s
    ),
    st.sampled_from(sorted(STATS)),
    st.integers(0, 999),
    st.integers(0, 999),
    st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(str.strip),
)
def test_format_parse_round_trip(
    rid: str, stat: str, sub: int, dlvrd: int, when: datetime, text: str
) -> None:
    receipt = DeliveryReceipt(rid, stat, sub, dlvrd, when, when, "000", text)
    assert parse_receipt(receipt.format()) == receipt


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_parse_arbitrary_input_only_raises_value_error(raw: str | bytes) -> None:
    try:
        receipt = parse_receipt(raw)
    except ValueError:
        return
    assert receipt.id and receipt.stat


def test_quick_receipt_reads_the_standard_form_and_declines_the_rest() -> None:
    from smsgate.smpp.receipt import quick_receipt

    raw = b"id:1a2b sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:hi there"
    assert quick_receipt(raw) == ("1a2b", "DELIVRD", "000")
    assert quick_receipt(b"id:7 stat:UNDELIV err:012") == ("7", "UNDELIV", "012")
    assert quick_receipt(b"id:7 stat:UNDELIV") == ("7", "UNDELIV", "000")
    assert quick_receipt(b"ID:7 stat:DELIVRD") is None
    assert quick_receipt(b"id:7 stat:DELIVERED err:0") is None  # long word: parse_receipt
    assert quick_receipt(b"hello") is None
