"""Hypothesis properties: round trips of generated PDUs, and fuzzing the decoder and framer."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp.pdu import (
    PDU_CLASSES,
    TLV_SPECS,
    Pdu,
    PduError,
    PduReader,
    TlvValue,
    decode,
)

_C_TEXT = st.characters(min_codepoint=1, max_codepoint=255)


def _tlv_value(tag: int) -> st.SearchStrategy[TlvValue]:
    spec = TLV_SPECS.get(tag)
    if spec is None:
        return st.binary(max_size=40)
    if spec.kind in ("u8", "u16", "u32"):
        size = {"u8": 1, "u16": 2, "u32": 4}[spec.kind]
        return st.integers(0, (1 << (8 * size)) - 1)
    if spec.kind == "cstr":
        return st.text(_C_TEXT, max_size=spec.max_len - 1)
    return st.binary(min_size=spec.min_len, max_size=min(spec.max_len, 300))


_TAGS = st.one_of(
    st.sampled_from(sorted(TLV_SPECS)),
    st.integers(0, 0xFFFF).filter(lambda t: t not in TLV_SPECS),
)
_TLVS = st.lists(_TAGS, max_size=6, unique=True).flatmap(
    lambda tags: st.fixed_dictionaries({t: _tlv_value(t) for t in tags})
)


@st.composite
def pdus(draw: st.DrawFn, cls: type[Pdu] | None = None) -> Pdu:
    if cls is None:
        cls = draw(st.sampled_from(sorted(PDU_CLASSES.values(), key=lambda c: c.command_id)))
    kwargs: dict[str, Any] = {
        "sequence_number": draw(st.integers(0, 0xFFFFFFFF)),
        "command_status": draw(st.integers(0, 0xFFFFFFFF)),
    }
    for f in cls.FIELDS:
        if f.kind == "u8":
            kwargs[f.name] = draw(st.integers(0, 255))
        elif f.kind == "cstr":
            kwargs[f.name] = draw(st.text(_C_TEXT, max_size=f.max_len - 1))
        else:
            kwargs[f.name] = draw(st.binary(max_size=f.max_len))
    if cls.TLVS_ALLOWED:
        kwargs["tlvs"] = draw(_TLVS)
    return cls(**kwargs)


@settings(max_examples=1000)
@given(pdus())
def test_round_trip(pdu: Pdu) -> None:
    raw = pdu.encode()
    assert decode(raw) == pdu
    assert decode(raw).encode() == raw


@settings(max_examples=500)
@given(pdus())
def test_each_class_encodes_as_the_generic_encoder_does(pdu: Pdu) -> None:
    """Each registered class has straight-line encoding code of its own (pdu._compile_encoder):
    the same octets as Pdu.encode's loop over FIELDS."""
    assert type(pdu).encode is not Pdu.encode
    assert pdu.encode() == Pdu.encode(pdu)


@given(st.lists(pdus(), min_size=1, max_size=8), st.data())
def test_framer_round_trip_any_chunking(items: list[Pdu], data: st.DataObject) -> None:
    stream = b"".join(p.encode() for p in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = PduReader()
    got: list[Pdu] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        reader.feed(stream[prev:cut])
        prev = cut
        got.extend(reader)
    assert got == items


def _only_pdu_error_decode(raw: bytes) -> None:
    try:
        pdu = decode(raw)
    except PduError as exc:
        assert exc.response().encode()  # the answer to a bad PDU always encodes
        return
    assert isinstance(pdu, Pdu)
    pdu.encode()  # whatever decodes must encode again


@settings(max_examples=2000)
@given(st.binary(max_size=300))
def test_fuzz_decode_arbitrary_bytes(raw: bytes) -> None:
    _only_pdu_error_decode(raw)


@settings(max_examples=3000)
@given(
    st.sampled_from(sorted(PDU_CLASSES)) | st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=300),
)
def test_fuzz_decode_valid_header_random_body(cid: int, status: int, body: bytes) -> None:
    raw = (16 + len(body)).to_bytes(4, "big") + cid.to_bytes(4, "big")
    raw += status.to_bytes(4, "big") + (1).to_bytes(4, "big") + body
    _only_pdu_error_decode(raw)


@settings(max_examples=1000)
@given(pdus(), st.integers(0, 400), st.binary(max_size=8))
def test_fuzz_mutated_valid_pdu(pdu: Pdu, where: int, junk: bytes) -> None:
    raw = bytearray(pdu.encode())
    pos = where % (len(raw) + 1)
    raw[pos : pos + len(junk)] = junk
    if len(raw) >= 4:
        raw[0:4] = len(raw).to_bytes(4, "big")
    _only_pdu_error_decode(bytes(raw))


@settings(max_examples=1000)
@given(st.lists(st.binary(max_size=64), max_size=10), st.integers(16, 512))
def test_fuzz_framer(chunks: list[bytes], max_length: int) -> None:
    reader = PduReader(max_length=max_length)
    for chunk in chunks:
        reader.feed(chunk)
        while True:
            try:
                if reader.next_pdu() is None:
                    break
            except PduError as exc:
                if exc.fatal:
                    return
