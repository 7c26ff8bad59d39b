"""Text <-> short_message octets for an SMPP data_coding.

=============  ===========================================  ==========================
data_coding    alphabet                                     codec here
=============  ===========================================  ==========================
0x00           SMSC default: GSM 03.38 7-bit (our choice)   gsm7, unpacked by default
0x01           IA5 / ASCII                                  ascii
0x03           ISO-8859-1                                   latin-1
0x06           ISO-8859-5 (Cyrillic)                        iso8859-5
0x07           ISO-8859-8 (Latin/Hebrew)                    iso8859-8
0x08           UCS-2 big-endian                             UTF-16-BE (surrogate pairs
                                                            pass through, as phones do)
0x10-0x1F,     GSM 03.38 DCS groups: bits 3-2 pick 7-bit,   as above
0xC0-0xFF      8-bit or UCS-2
0x02, 0x04     8-bit binary: not text                       ValueError
=============  ===========================================  ==========================
"""

from __future__ import annotations

from enum import Enum

from . import gsm7


class Alphabet(Enum):
    GSM7 = "gsm7"
    ASCII = "ascii"
    LATIN1 = "latin-1"
    CYRILLIC = "iso8859-5"
    HEBREW = "iso8859-8"
    UCS2 = "ucs2"
    BINARY = "binary"


_SMPP: dict[int, Alphabet] = {
    0x00: Alphabet.GSM7,
    0x01: Alphabet.ASCII,
    0x02: Alphabet.BINARY,
    0x03: Alphabet.LATIN1,
    0x04: Alphabet.BINARY,
    0x06: Alphabet.CYRILLIC,
    0x07: Alphabet.HEBREW,
    0x08: Alphabet.UCS2,
}
_DCS_ALPHABET = (Alphabet.GSM7, Alphabet.BINARY, Alphabet.UCS2)


def alphabet(data_coding: int) -> Alphabet:
    """The alphabet a data_coding selects. Raises ValueError for ones we do not support
    (JIS, Kanji, KS C 5601, pictogram, compressed or reserved GSM DCS values)."""
    if data_coding in _SMPP:
        return _SMPP[data_coding]
    group = data_coding & 0xF0
    if group == 0x10:  # general data coding, message class present, uncompressed
        bits = (data_coding >> 2) & 0x03
        if bits < 3:
            return _DCS_ALPHABET[bits]
    elif group in (0xC0, 0xD0):  # message waiting indication, GSM 7-bit
        return Alphabet.GSM7
    elif group == 0xE0:  # message waiting indication, UCS-2
        return Alphabet.UCS2
    elif group == 0xF0:  # data coding / message class
        return Alphabet.BINARY if data_coding & 0x04 else Alphabet.GSM7
    raise ValueError(f"unsupported data_coding 0x{data_coding:02x}")


def encode_text(text: str, data_coding: int, packed: bool = False) -> bytes:
    """Encode ``text`` for ``data_coding``. ``packed`` applies to GSM 7-bit only.

    Raises ValueError if a character does not exist in that alphabet or the data_coding is
    binary or unsupported.
    """
    alpha = alphabet(data_coding)
    if alpha is Alphabet.GSM7:
        return gsm7.encode(text, packed=packed)
    if alpha is Alphabet.UCS2:
        return text.encode("utf-16-be")
    if alpha is Alphabet.BINARY:
        raise ValueError(f"data_coding 0x{data_coding:02x} is binary, not text")
    try:
        return text.encode(alpha.value)
    except UnicodeEncodeError as exc:
        raise ValueError(str(exc)) from None


def decode_text(data: bytes, data_coding: int, packed: bool = False) -> str:
    """Decode a short_message for ``data_coding``. Undecodable octets become U+FFFD (an odd
    trailing UCS-2 octet, a lone surrogate); raises ValueError only for a binary or
    unsupported data_coding."""
    alpha = alphabet(data_coding)
    if alpha is Alphabet.GSM7:
        return gsm7.decode(data, packed=packed)
    if alpha is Alphabet.UCS2:
        return data.decode("utf-16-be", errors="replace")
    if alpha is Alphabet.BINARY:
        raise ValueError(f"data_coding 0x{data_coding:02x} is binary, not text")
    return data.decode(alpha.value, errors="replace")


def utf16_units(text: str) -> int:
    """UCS-2 code units of ``text``: characters outside the BMP count 2."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
