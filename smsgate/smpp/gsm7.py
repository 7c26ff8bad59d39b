"""GSM 03.38 (3GPP TS 23.038) default 7-bit alphabet with its extension table.

Septets are ints 0..127. "Unpacked" means one septet per octet, which is what most SMSCs expect
in an SMPP short_message with data_coding 0; "packed" puts 8 septets into 7 octets, least
significant bits first (TS 23.038 section 6.1.2.1).
"""

from __future__ import annotations

from ..core.segments import GSM7_BASIC_TABLE, GSM7_EXTENSION_TABLE

ESCAPE = 0x1B
CR = 0x0D

# The tables live with the segmenter (one copy of the standard in the code base).
_BASIC = GSM7_BASIC_TABLE
_EXTENSION = GSM7_EXTENSION_TABLE

_ENCODE: dict[str, tuple[int, ...]] = {ch: (i,) for i, ch in enumerate(_BASIC) if i != ESCAPE}
_ENCODE.update({ch: (ESCAPE, code) for code, ch in _EXTENSION.items()})
BASIC_CHARS = frozenset(ch for ch, code in _ENCODE.items() if len(code) == 1)
EXTENSION_CHARS = frozenset(_EXTENSION.values())


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` is in the default alphabet or its extension."""
    return all(ch in _ENCODE for ch in text)


def char_septets(ch: str) -> tuple[int, ...]:
    """The septets of one character (two for extension characters). Raises ValueError."""
    try:
        return _ENCODE[ch]
    except KeyError:
        raise ValueError(f"character {ch!r} is not in the GSM 7-bit alphabet") from None


def septet_length(text: str) -> int:
    """Septets needed for ``text`` (extension characters count 2). Raises ValueError."""
    return sum(len(char_septets(ch)) for ch in text)


class _Septets(dict[int, str]):
    """Character -> its septets as latin-1 characters, for str.translate: a whole text in one
    C call (a loop over its characters cost 2-3 µs for a one-part text). A character not in
    the alphabet raises, or becomes '?' when `replace`."""

    def __init__(self, replace: bool) -> None:
        super().__init__({ord(ch): bytes(code).decode("latin-1") for ch, code in _ENCODE.items()})
        self.replace = replace

    def __missing__(self, key: int) -> str:
        if self.replace:
            return "?"
        raise ValueError(f"character {chr(key)!r} is not in the GSM 7-bit alphabet")


_STRICT = _Septets(replace=False)
_REPLACE = _Septets(replace=True)


def to_septets(text: str, errors: str = "strict") -> bytes:
    """Encode to septets, one per octet (unpacked). ``errors`` is "strict" or "replace" ('?')."""
    return text.translate(_REPLACE if errors == "replace" else _STRICT).encode("latin-1")


def from_septets(septets: bytes) -> str:
    """Decode unpacked septets. Never raises: the high bit of each octet is ignored; an escape
    followed by an undefined code shows the basic character (TS 23.038 6.2.1.1); a trailing
    escape is dropped."""
    out: list[str] = []
    i, n = 0, len(septets)
    while i < n:
        code = septets[i] & 0x7F
        i += 1
        if code != ESCAPE:
            out.append(_BASIC[code])
            continue
        if i >= n:
            break
        nxt = septets[i] & 0x7F
        i += 1
        ext = _EXTENSION.get(nxt)
        out.append(ext if ext is not None else (" " if nxt == ESCAPE else _BASIC[nxt]))
    return "".join(out)


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets into octets, LSB first, after ``fill_bits`` zero bits (used after a UDH).

    When the last octet would end with 7 spare bits, they carry a CR, as TS 23.038 6.1.2.3.1
    asks, so that :func:`unpack` does not see a phantom '@'.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be 0..6")
    total = fill_bits + 7 * len(septets)
    if (-total) % 8 == 7:
        septets = septets + bytes((CR,))
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int | None = None, fill_bits: int = 0) -> bytes:
    """Unpack octets into septets, skipping ``fill_bits`` leading bits.

    With ``count`` unknown (the SMPP case: sm_length counts octets), every whole septet is
    returned, except a final CR that exactly fills the last octet: that is the padding
    :func:`pack` adds. (A text whose real last character is a CR at that position loses it; TS
    23.038 has the same ambiguity.)
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be 0..6")
    avail = max(0, (8 * len(data) - fill_bits) // 7)
    strip_padding = count is None
    n = avail if count is None else min(count, avail)
    acc = int.from_bytes(data, "little") >> fill_bits
    out = bytes((acc >> (7 * i)) & 0x7F for i in range(n))
    if strip_padding and n and out[-1] == CR and (8 * len(data) - fill_bits) % 7 == 0:
        out = out[:-1]
    return out


def encode(text: str, packed: bool = False, errors: str = "strict") -> bytes:
    """Encode ``text`` as GSM 7-bit, unpacked (one septet per octet) or packed."""
    septets = to_septets(text, errors)
    return pack(septets) if packed else septets


def decode(data: bytes, packed: bool = False) -> str:
    """Decode GSM 7-bit data, unpacked or packed. Never raises."""
    return from_septets(unpack(data) if packed else data)
