"""What a message carries when it is not a text: 8-bit data, an HLR query, a ping. Pure.

`Message.encoding` names it. A text is "gsm7" or "ucs2" (core.segments); the others are:

* "binary": 8-bit data (data coding 4), its octets as hex in the message's text. Up to 140
  octets is one SMS; longer data is cut into parts of 134 octets, each with a 6-octet
  concatenation UDH (8-bit reference), as a text is.
* "binary_udh": the same, but the data starts with its own UDH (application port addressing
  for a WAP push, a ringtone...). Up to 140 octets in all is one SMS; longer data is cut into
  parts that each carry that UDH's elements plus a 5-octet concatenation element. A UDH that
  already names a concatenation (its sender cut the parts) cannot be cut again: that data must
  fit one SMS.
* "hlr": a look-up of the number in its network's HLR; nothing reaches the phone. One unit.
* "ping": a silent SMS (TS 23.040 type 0: the phone acknowledges it and shows nothing). One unit.

Billing counts the parts here, and the SMPP connector sends the parts `binary_parts` cuts, so a
message is sent in the parts it was charged for.
"""

from __future__ import annotations

from typing import Final

BINARY: Final = "binary"
BINARY_UDH: Final = "binary_udh"
HLR: Final = "hlr"
PING: Final = "ping"
KINDS: Final = frozenset({BINARY, BINARY_UDH, HLR, PING})

OCTETS: Final = 140  # user data of one SMS
CONCAT_ELEMENT: Final = 5  # IEI 0x00, length 3, reference, total, sequence number
_CONCAT_IEIS: Final = frozenset({0x00, 0x08})  # 8-bit and 16-bit reference concatenation


def octets(hex_text: str) -> bytes:
    """The data a binary message's text holds. ValueError unless it is non-empty hex."""
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        raise ValueError("binary data must be pairs of hex digits") from None
    if not data:
        raise ValueError("binary data is empty")
    return data


def udh_size(data: bytes) -> int | None:
    """The size of the UDH `data` starts with (its length octet included), when it starts with
    a well-formed one: a length, then whole information elements filling it exactly."""
    if len(data) < 3:
        return None
    end = 1 + data[0]
    if end > len(data) or data[0] < 2:
        return None
    pos = 1
    while pos < end:
        if pos + 2 > end:
            return None
        pos += 2 + data[pos + 1]
    return end if pos == end else None


def _elements(udh: bytes) -> list[int]:
    """The identifiers of a well-formed UDH's information elements."""
    ieis, pos = [], 1
    while pos < len(udh):
        ieis.append(udh[pos])
        pos += 2 + udh[pos + 1]
    return ieis


def binary_parts(data: bytes, with_udh: bool, ref: int = 0) -> list[tuple[bytes, bytes]]:
    """(UDH, data) of each SMS a binary message is sent in; the UDH is b"" where none.

    `with_udh`: `data` starts with its sender's UDH. `ref` is the concatenation reference of
    a message cut into parts (0..255). ValueError when the data cannot be sent as SMS.
    """
    if not data:
        raise ValueError("binary data is empty")
    own = b""
    if with_udh:
        size = udh_size(data)
        if size is None:
            raise ValueError("binary data does not start with a well-formed UDH")
        own, data = data[:size], data[size:]
    if len(own) + len(data) <= OCTETS:
        return [(own, data)]
    if own and _CONCAT_IEIS & set(_elements(own)):
        raise ValueError("a UDH that names a concatenation must fit one SMS")
    elements = own[1:] if own else b""
    room = OCTETS - 1 - len(elements) - CONCAT_ELEMENT
    if room <= 0:
        raise ValueError("the UDH leaves no room for data")
    chunks = [data[i : i + room] for i in range(0, len(data), room)]
    if len(chunks) > 255:
        raise ValueError("binary data needs more than 255 parts")
    total = len(chunks)
    return [
        (_udh(elements + bytes((0x00, 3, ref & 0xFF, total, seq))), chunk)
        for seq, chunk in enumerate(chunks, 1)
    ]


def _udh(elements: bytes) -> bytes:
    return bytes((len(elements),)) + elements


def count(encoding: str, text: str) -> int:
    """The parts (the units billed) of a message of one of the KINDS; ValueError if it cannot
    be sent, or for an encoding not of KINDS."""
    if encoding in (HLR, PING):
        return 1
    if encoding in (BINARY, BINARY_UDH):
        return len(binary_parts(octets(text), encoding == BINARY_UDH))
    raise ValueError(f"unknown encoding {encoding!r}")
