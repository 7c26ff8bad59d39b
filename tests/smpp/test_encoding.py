"""GSM 03.38 7-bit, Latin-1, UCS-2 and data_coding selection."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smsgate.smpp import gsm7
from smsgate.smpp.encoding import Alphabet, alphabet, decode_text, encode_text, utf16_units

GSM_CHARS = sorted(gsm7.BASIC_CHARS | gsm7.EXTENSION_CHARS)
gsm_text = st.text(st.sampled_from(GSM_CHARS), max_size=400)


def test_known_packed_vectors() -> None:
    assert gsm7.encode("hellohello", packed=True).hex() == "e8329bfd4697d9ec37"
    assert gsm7.encode("hello", packed=True).hex() == "e8329bfd06"
    assert gsm7.encode("Hi", packed=True).hex() == "c834"
    assert gsm7.decode(bytes.fromhex("e8329bfd4697d9ec37"), packed=True) == "hellohello"


def test_seven_septets_are_padded_with_cr() -> None:
    # TS 23.038 6.1.2.3.1: 7 spare bits carry CR, not a phantom '@'.
    assert gsm7.encode("1234567", packed=True).hex() == "31d98c56b3dd1a"
    assert gsm7.decode(bytes.fromhex("31d98c56b3dd1a"), packed=True) == "1234567"
    # zero padding from other encoders decodes as a trailing '@' (cannot be told apart)
    assert gsm7.decode(bytes.fromhex("31d98c56b3dd00"), packed=True) == "1234567@"
    assert gsm7.encode("12345678", packed=True).hex() == "31d98c56b3dd70"


def test_fill_bits() -> None:
    assert gsm7.pack(b"\x41", fill_bits=1) == b"\x82"
    assert gsm7.unpack(b"\x82", fill_bits=1) == b"\x41"


def test_unpacked_and_extension() -> None:
    assert gsm7.encode("@£$") == b"\x00\x01\x02"
    assert gsm7.encode("€") == b"\x1b\x65"
    assert gsm7.encode("{}[]~\\|^\f") == bytes.fromhex("1b281b291b3c1b3e1b3d1b2f1b401b141b0a")
    assert gsm7.decode(b"\x1b\x65\x1b\x28") == "€{"
    assert gsm7.encode("ΔΩ ÄÖÑÜ§¿äöñüà") == bytes.fromhex("101520 5b5c5d5e5f 607b7c7d7e7f")


def test_decode_escape_edge_cases() -> None:
    assert gsm7.decode(b"\x1b\x41") == "A"  # undefined extension: the basic character
    assert gsm7.decode(b"A\x1b") == "A"  # trailing escape dropped
    assert gsm7.decode(b"\x1b\x1b") == " "
    assert gsm7.decode(b"\xc1") == "A"  # high bit ignored


def test_septet_length_and_replace() -> None:
    assert gsm7.septet_length("a€") == 3
    assert gsm7.is_gsm7("Hello {world}") and not gsm7.is_gsm7("Привет")
    with pytest.raises(ValueError):
        gsm7.encode("Привет")
    assert gsm7.encode("aЖb", errors="replace") == b"a?b"


def test_text_codecs() -> None:
    assert encode_text("café", 3) == bytes.fromhex("636166e9")
    assert encode_text("Привет", 8) == bytes.fromhex("041f04400438043204350442")
    assert encode_text("😀", 8) == bytes.fromhex("d83dde00")
    assert decode_text(bytes.fromhex("d83dde00"), 8) == "😀"
    assert encode_text("Привет", 6) == bytes.fromhex("bfe0d8d2d5e2")
    assert encode_text("hi", 1) == b"hi"
    assert encode_text("hello", 0, packed=True).hex() == "e8329bfd06"
    assert decode_text(b"hello", 0) == "hello"
    assert decode_text(bytes.fromhex("e8329bfd06"), 0x10, packed=True) == "hello"


def test_text_codec_errors() -> None:
    with pytest.raises(ValueError):
        encode_text("Привет", 3)
    with pytest.raises(ValueError):
        encode_text("é", 1)
    with pytest.raises(ValueError):
        encode_text("x", 4)
    with pytest.raises(ValueError):
        decode_text(b"x", 2)
    with pytest.raises(ValueError):
        decode_text(b"x", 0x05)
    assert decode_text(b"\x00\x41\x00", 8) == "A\ufffd"  # odd octet
    assert decode_text(b"\xd8\x3d", 8) == "\ufffd"  # lone surrogate


@pytest.mark.parametrize(
    ("dc", "alpha"),
    [
        (0x00, Alphabet.GSM7),
        (0x01, Alphabet.ASCII),
        (0x03, Alphabet.LATIN1),
        (0x04, Alphabet.BINARY),
        (0x08, Alphabet.UCS2),
        (0x10, Alphabet.GSM7),
        (0x14, Alphabet.BINARY),
        (0x18, Alphabet.UCS2),
        (0xC0, Alphabet.GSM7),
        (0xE0, Alphabet.UCS2),
        (0xF0, Alphabet.GSM7),
        (0xF4, Alphabet.BINARY),
    ],
)
def test_alphabet(dc: int, alpha: Alphabet) -> None:
    assert alphabet(dc) is alpha


@pytest.mark.parametrize("dc", [0x05, 0x09, 0x0E, 0x1C, 0x20, 0x80])
def test_unsupported_alphabet(dc: int) -> None:
    with pytest.raises(ValueError):
        alphabet(dc)


def test_utf16_units() -> None:
    assert utf16_units("a😀") == 3


@given(gsm_text)
def test_gsm7_unpacked_round_trip(text: str) -> None:
    assert gsm7.decode(gsm7.encode(text)) == text


@settings(max_examples=500)
@given(gsm_text)
def test_gsm7_packed_round_trip(text: str) -> None:
    septets = gsm7.to_septets(text)
    # The one ambiguous case of TS 23.038: a real CR that exactly fills the last octet.
    assume(not (septets.endswith(b"\r") and len(septets) % 8 == 0))
    packed = gsm7.encode(text, packed=True)
    assert len(packed) == (7 * len(septets) + 7) // 8
    assert gsm7.decode(packed, packed=True) == text


@given(st.lists(st.integers(0, 127), max_size=200).map(bytes), st.integers(0, 6))
def test_pack_unpack_with_count(septets: bytes, fill: int) -> None:
    assert gsm7.unpack(gsm7.pack(septets, fill), len(septets), fill) == septets


@given(st.text(max_size=100))
def test_ucs2_round_trip_any_unicode(text: str) -> None:
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for c in text))
    assert decode_text(encode_text(text, 8), 8) == text


@given(st.binary(max_size=200), st.sampled_from([0, 1, 3, 6, 8, 0x18, 0xF0]), st.booleans())
def test_decode_never_raises(data: bytes, dc: int, packed: bool) -> None:
    assert isinstance(decode_text(data, dc, packed=packed), str)
