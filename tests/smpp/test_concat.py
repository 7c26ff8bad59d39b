"""Splitting into parts, UDH parsing and reassembly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp import gsm7
from smsgate.smpp.concat import (
    ConcatInfo,
    InformationElement,
    Reassembler,
    Scheme,
    count_parts,
    message_parts,
    parse_udh,
    split_chunks,
    split_text,
)
from smsgate.smpp.constants import EsmClass, Tag
from smsgate.smpp.encoding import utf16_units
from smsgate.smpp.pdu import DataSm, DeliverSm, SubmitSm, decode


@pytest.mark.parametrize(
    ("text", "dc", "parts"),
    [
        ("a" * 160, 0, 1),
        ("a" * 161, 0, 2),
        ("a" * 306, 0, 2),
        ("a" * 307, 0, 3),
        ("€" * 80, 0, 1),
        ("€" * 81, 0, 2),
        ("Ж" * 70, 8, 1),
        ("Ж" * 71, 8, 2),
        ("Ж" * 134, 8, 2),
        ("Ж" * 135, 8, 3),
        ("é" * 140, 3, 1),
        ("é" * 141, 3, 2),
        ("", 0, 1),
    ],
)
def test_count_parts(text: str, dc: int, parts: int) -> None:
    assert count_parts(text, dc) == parts


def test_udh16_capacity() -> None:
    assert [len(c) for c in split_chunks("a" * 305, 0, Scheme.UDH16)] == [152, 152, 1]
    assert [len(c) for c in split_chunks("Ж" * 133, 8, Scheme.UDH16)] == [66, 66, 1]


def test_gsm_escape_never_split() -> None:
    chunks = split_chunks("a" * 152 + "€" + "b" * 10, 0)
    assert chunks == ["a" * 152, "€" + "b" * 10]


def test_surrogate_pair_never_split() -> None:
    chunks = split_chunks("Ж" * 66 + "😀" + "Ж" * 10, 8)
    assert chunks == ["Ж" * 66, "😀" + "Ж" * 10]


def test_udh8_part_octets() -> None:
    parts = split_text("a" * 161, 0, ref=0x42)
    assert len(parts) == 2
    assert parts[0].short_message == bytes.fromhex("050003420201") + b"a" * 153
    assert parts[1].short_message == bytes.fromhex("050003420202") + b"a" * 8
    assert all(p.esm_class == EsmClass.UDHI and not p.tlvs for p in parts)


def test_udh16_part_octets() -> None:
    parts = split_text("Ж" * 71, 8, ref=0x1234, scheme=Scheme.UDH16)
    zhe = bytes.fromhex("0416")
    assert parts[0].short_message == bytes.fromhex("06080412340201") + zhe * 66
    assert parts[1].short_message == bytes.fromhex("06080412340202") + zhe * 5


def test_sar_parts() -> None:
    parts = split_text("b" * 200, 0, ref=300, scheme=Scheme.SAR)
    assert [p.short_message for p in parts] == [b"b" * 153, b"b" * 47]
    assert parts[1].esm_class == 0
    assert parts[1].tlvs == {
        Tag.SAR_MSG_REF_NUM: 300,
        Tag.SAR_TOTAL_SEGMENTS: 2,
        Tag.SAR_SEGMENT_SEQNUM: 2,
    }


def test_packed_parts_fit_140_octets() -> None:
    parts = split_text("a" * 400, 0, ref=7, packed=True)
    assert [len(p.short_message) for p in parts[:2]] == [140, 140]
    # septets start after one fill bit: 'a' (0x61) << 1 = 0xc2
    assert parts[0].short_message[:7] == bytes.fromhex("050003070301c2")


def test_single_part_has_no_udh() -> None:
    (part,) = split_text("hello", 0, ref=1, packed=True)
    assert part.short_message.hex() == "e8329bfd06" and part.esm_class == 0


def test_split_errors() -> None:
    with pytest.raises(ValueError):
        split_text("a" * 161, 0, ref=256)
    with pytest.raises(ValueError):
        split_text("Ж", 0)
    with pytest.raises(ValueError):
        split_text("a", 4)
    with pytest.raises(ValueError):
        split_text("a" * 153 * 256, 0)


def test_parse_udh() -> None:
    elements, rest = parse_udh(bytes.fromhex("0b 0003120301 0804abcd0201 41"))
    assert elements == [
        InformationElement(0x00, bytes.fromhex("120301")),
        InformationElement(0x08, bytes.fromhex("abcd0201")),
    ]
    assert rest == b"A"


@pytest.mark.parametrize("raw", ["", "05000342", "0300050102", "02 00"])
def test_parse_udh_malformed(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_udh(bytes.fromhex(raw))


def test_message_parts_udh_and_sar() -> None:
    udh = SubmitSm(esm_class=0x40, short_message=bytes.fromhex("0608041234030241"))
    assert message_parts(udh) == (ConcatInfo(0x1234, 3, 2), b"A")
    sar = DeliverSm(
        short_message=b"x",
        tlvs={Tag.SAR_MSG_REF_NUM: 9, Tag.SAR_TOTAL_SEGMENTS: 2, Tag.SAR_SEGMENT_SEQNUM: 1},
    )
    assert message_parts(sar) == (ConcatInfo(9, 2, 1), b"x")
    payload = DataSm(tlvs={Tag.MESSAGE_PAYLOAD: b"long"})
    assert message_parts(payload) == (None, b"long")


def _pdus(text: str, dc: int, scheme: Scheme, packed: bool) -> list[SubmitSm]:
    out = []
    for part in split_text(text, dc, ref=5, scheme=scheme, packed=packed):
        pdu = SubmitSm(
            source_addr="100",
            destination_addr="200",
            esm_class=part.esm_class,
            data_coding=dc,
            short_message=part.short_message,
            tlvs=part.tlvs,
        )
        out.append(pdu)
    return out


def test_reassemble_out_of_order_with_duplicate() -> None:
    pdus = _pdus("x" * 400, 0, Scheme.UDH8, False)
    r = Reassembler()
    assert r.add_pdu(pdus[2], now=0) is None
    assert r.add_pdu(pdus[0], now=1) is None
    assert r.add_pdu(pdus[0], now=2) is None
    assert len(r) == 1
    assert r.add_pdu(pdus[1], now=3) == "x" * 400
    assert len(r) == 0


def test_not_concatenated_returns_at_once() -> None:
    r = Reassembler()
    assert r.add_pdu(SubmitSm(short_message=b"hi"), now=0) == "hi"
    assert r.add_pdu(SubmitSm(short_message=bytes.fromhex("e8329bfd06")), 0, packed=True) == (
        "hello"
    )


def test_key_includes_source_destination_and_ref() -> None:
    r = Reassembler()
    assert r.add("a", "b", ConcatInfo(1, 2, 1), b"1", 0, now=0) is None
    assert r.add("a", "c", ConcatInfo(1, 2, 2), b"2", 0, now=0) is None
    assert r.add("a", "b", ConcatInfo(2, 2, 2), b"3", 0, now=0) is None
    assert len(r) == 3
    assert r.add("a", "b", ConcatInfo(1, 2, 2), b"4", 0, now=0) == "14"


def test_escape_split_by_sender_still_decodes() -> None:
    r = Reassembler()
    r.add("a", "b", ConcatInfo(1, 2, 1), b"a\x1b", 0, now=0)
    assert r.add("a", "b", ConcatInfo(1, 2, 2), b"\x65", 0, now=0) == "a€"


def test_surrogate_split_by_sender_still_decodes() -> None:
    r = Reassembler()
    r.add("a", "b", ConcatInfo(1, 2, 1), b"\xd8\x3d", 8, now=0)
    assert r.add("a", "b", ConcatInfo(1, 2, 2), b"\xde\x00", 8, now=0) == "😀"


def test_bad_part_numbers() -> None:
    r = Reassembler()
    for info in (ConcatInfo(1, 0, 0), ConcatInfo(1, 2, 0), ConcatInfo(1, 2, 3)):
        with pytest.raises(ValueError):
            r.add("a", "b", info, b"x", 0, now=0)
    with pytest.raises(ValueError):
        r.add("a", "b", ConcatInfo(1, 2, 1), b"x", 4, now=0)
    assert len(r) == 0


def test_expire_uses_last_part_time() -> None:
    r = Reassembler(timeout=60)
    r.add("a", "b", ConcatInfo(1, 3, 1), b"one ", 0, now=0)
    r.add("a", "b", ConcatInfo(1, 3, 3), b"three", 0, now=50)
    r.add("c", "d", ConcatInfo(1, 2, 1), b"x", 0, now=10)
    assert r.expire(now=69) == []
    expired = r.expire(now=70)
    assert [(e.source, e.received, e.text) for e in expired] == [("c", (1,), "x")]
    (late,) = r.expire(now=110)
    assert (late.total, late.received, late.text) == (3, (1, 3), "one three")
    assert len(r) == 0


def test_max_pending_evicts_oldest_and_reports_it() -> None:
    r = Reassembler(max_pending=2)
    for ref in range(3):
        r.add("a", "b", ConcatInfo(ref, 2, 1), b"p", 0, now=ref)
    assert len(r) == 2
    (evicted,) = r.expire(now=3)
    assert evicted.ref == 0


def test_different_total_starts_over() -> None:
    r = Reassembler()
    r.add("a", "b", ConcatInfo(1, 3, 1), b"old", 0, now=0)
    r.add("a", "b", ConcatInfo(1, 2, 1), b"new", 0, now=0)
    assert r.add("a", "b", ConcatInfo(1, 2, 2), b"!", 0, now=0) == "new!"


GSM_CHARS = sorted(gsm7.BASIC_CHARS | gsm7.EXTENSION_CHARS)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.tuples(st.text(st.sampled_from(GSM_CHARS), max_size=700), st.just(0)),
        st.tuples(st.text(st.sampled_from("a\r€"), min_size=150, max_size=400), st.just(0)),
        st.tuples(st.text(max_size=300), st.just(8)),
        st.tuples(st.text(st.characters(max_codepoint=255), max_size=500), st.just(3)),
    ),
    st.sampled_from(list(Scheme)),
    st.booleans(),
)
def test_split_then_reassemble(case: tuple[str, int], scheme: Scheme, packed: bool) -> None:
    text, dc = case
    if dc == 8:
        text = "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
    septets = gsm7.to_septets(text) if dc == 0 else b""
    if dc == 0 and packed and septets.endswith(b"\r"):
        text = text + "."  # avoid the TS 23.038 trailing-CR ambiguity
    pdus = _pdus(text, dc, scheme, packed)
    r = Reassembler()
    results = [r.add_pdu(decode(p.encode()), now=0, packed=packed) for p in pdus]
    assert results[-1] == text
    assert all(x is None for x in results[:-1])
    for p in pdus:
        if packed or dc != 0:
            assert len(p.short_message) <= 140
    if len(pdus) > 1:
        chunks = split_chunks(text, dc, scheme)
        assert "".join(chunks) == text
        for chunk in chunks:
            if dc == 8:
                assert utf16_units(chunk) <= (66 if scheme is Scheme.UDH16 else 67)
            elif dc == 0:
                assert gsm7.septet_length(chunk) <= (152 if scheme is Scheme.UDH16 else 153)


def test_packed_part_never_ends_in_ambiguous_cr() -> None:
    text = "a" * 152 + "\r" + "b" * 20
    assert [len(c) for c in split_chunks(text, 0, Scheme.UDH8)] == [153, 20]
    assert [len(c) for c in split_chunks(text, 0, Scheme.UDH8, packed=True)] == [152, 21]
    r = Reassembler()
    results = [r.add_pdu(p, now=0, packed=True) for p in _pdus(text, 0, Scheme.UDH8, True)]
    assert results[-1] == text
