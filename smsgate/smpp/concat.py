"""Concatenated SMS: split text into parts (UDH or SAR TLVs), parse UDH, reassemble parts.

Part capacities (3GPP TS 23.040 9.2.3.24.1, 140 octets of user data per SMS):

==========  ======  ========================  =========================
alphabet    single  8-bit ref UDH (or SAR)    16-bit ref UDH
==========  ======  ========================  =========================
GSM 7-bit   160     153 septets               152 septets
UCS-2       70      67 UTF-16 units           66 UTF-16 units
8-bit       140     134 octets                133 octets
==========  ======  ========================  =========================

SAR parts get the same room as 8-bit-reference UDH parts: the SMSC turns the TLVs into a UDH
when it sends them on. A GSM extension character (escape + code) and a UTF-16 surrogate pair are
never split across parts. The cutting itself is billing's (smsgate.core.segments.split_parts),
so that a text is sent in the parts it was charged for; only the limits are this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from ..core.segments import GSM7_WIDE, UCS2_WIDE, gsm7_units, split_parts
from . import gsm7
from .constants import EsmClass, Tag
from .encoding import Alphabet, alphabet, decode_text, encode_text
from .pdu import Pdu, TlvValue

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08


class Scheme(Enum):
    UDH8 = "udh8"
    UDH16 = "udh16"
    SAR = "sar"


_CAPACITY: dict[Alphabet, tuple[int, int, int]] = {
    # single, 8-bit ref UDH or SAR, 16-bit ref UDH
    Alphabet.GSM7: (160, 153, 152),
    Alphabet.UCS2: (70, 67, 66),
}
_OCTET_CAPACITY = (140, 134, 133)
# Characters taking two units; every character of the 8-bit alphabets takes one octet.
_WIDE: dict[Alphabet, re.Pattern[str]] = {Alphabet.GSM7: GSM7_WIDE, Alphabet.UCS2: UCS2_WIDE}


def capacities(data_coding: int, scheme: Scheme = Scheme.UDH8) -> tuple[int, int]:
    """(single-part capacity, per-part capacity) in the alphabet's units."""
    single, udh8, udh16 = _CAPACITY.get(alphabet(data_coding), _OCTET_CAPACITY)
    return single, (udh16 if scheme is Scheme.UDH16 else udh8)


def split_chunks(
    text: str, data_coding: int = 0, scheme: Scheme = Scheme.UDH8, packed: bool = False
) -> list[str]:
    """The text of each part. Raises ValueError if ``text`` does not fit the alphabet.

    With ``packed`` GSM 7-bit, a part never ends in a CR that exactly fills its last octet
    (the receiver would take it for TS 23.038 padding); the CR moves to the next part.
    """
    alpha = alphabet(data_coding)
    if alpha is Alphabet.BINARY:
        raise ValueError("binary data_coding: split the octets yourself")
    encoded = encode_text(text, data_coding)  # validates every character, and sizes the text
    units = len(encoded) // 2 if alpha is Alphabet.UCS2 else len(encoded)
    single, per_part = capacities(data_coding, scheme)
    # An empty text is still one (empty) SMS here; billing counts it as none.
    chunks = list(split_parts(text, units, single, per_part, _WIDE.get(alpha))) or [text]
    if packed and alpha is Alphabet.GSM7 and len(chunks) > 1:
        fill = _fill_bits(6 if scheme is Scheme.UDH8 else 7 if scheme is Scheme.UDH16 else 0)
        chunks = _no_padding_cr(chunks, per_part, fill)
    return chunks


def _no_padding_cr(chunks: list[str], per_part: int, fill: int) -> list[str]:
    """Packed GSM 7-bit parts where no part but the last ends in a CR filling its last octet:
    such a CR opens the next part instead, and the rest of the text is cut again from it."""
    out: list[str] = []
    i = 0
    while i < len(chunks) - 1:
        chunk = chunks[i]
        if chunk.endswith("\r") and len(chunk) > 1 and (fill + 7 * gsm7_units(chunk)) % 8 == 0:
            out.append(chunk[:-1])
            rest = "\r" + "".join(chunks[i + 1 :])
            chunks = list(split_parts(rest, gsm7_units(rest), per_part, per_part, GSM7_WIDE))
            i = 0
        else:
            out.append(chunk)
            i += 1
    return out + chunks[i:]


def count_parts(text: str, data_coding: int = 0, scheme: Scheme = Scheme.UDH8) -> int:
    return len(split_chunks(text, data_coding, scheme))


@dataclass(frozen=True, slots=True)
class InformationElement:
    iei: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Which part of which concatenated message: seqnum is 1-based."""

    ref: int
    total: int
    seqnum: int


@dataclass(slots=True)
class Part:
    """One SMS of a split message: OR ``esm_class`` into the PDU's, merge ``tlvs``."""

    short_message: bytes
    esm_class: int = 0
    tlvs: dict[int, TlvValue] = field(default_factory=dict)


def build_udh(elements: list[InformationElement]) -> bytes:
    body = b"".join(bytes((ie.iei, len(ie.data))) + ie.data for ie in elements)
    if len(body) > 0xFF:
        raise ValueError("UDH too long")
    return bytes((len(body),)) + body


def concat_element(info: ConcatInfo, scheme: Scheme = Scheme.UDH8) -> InformationElement:
    if scheme is Scheme.UDH16:
        return InformationElement(
            IEI_CONCAT_16, info.ref.to_bytes(2, "big") + bytes((info.total, info.seqnum))
        )
    return InformationElement(IEI_CONCAT_8, bytes((info.ref, info.total, info.seqnum)))


def parse_udh(data: bytes) -> tuple[list[InformationElement], bytes]:
    """Split a short_message that starts with a UDH into (elements, rest). Raises ValueError."""
    if not data:
        raise ValueError("empty user data: no UDH")
    end = 1 + data[0]
    if end > len(data):
        raise ValueError("UDH length beyond the message")
    elements: list[InformationElement] = []
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise ValueError("truncated information element")
        iei, length = data[pos], data[pos + 1]
        pos += 2
        if pos + length > end:
            raise ValueError(f"information element 0x{iei:02x} overruns the UDH")
        elements.append(InformationElement(iei, data[pos : pos + length]))
        pos += length
    return elements, data[end:]


def concat_from_elements(elements: list[InformationElement]) -> ConcatInfo | None:
    for ie in elements:
        if ie.iei == IEI_CONCAT_8 and len(ie.data) == 3:
            return ConcatInfo(ie.data[0], ie.data[1], ie.data[2])
        if ie.iei == IEI_CONCAT_16 and len(ie.data) == 4:
            return ConcatInfo(int.from_bytes(ie.data[:2], "big"), ie.data[2], ie.data[3])
    return None


def _fill_bits(udh_octets: int) -> int:
    return (7 - (udh_octets * 8) % 7) % 7


def split_text(
    text: str,
    data_coding: int = 0,
    *,
    ref: int = 0,
    scheme: Scheme = Scheme.UDH8,
    packed: bool = False,
) -> list[Part]:
    """Split ``text`` into ready-to-send parts. One part needs no UDH and no TLVs.

    ``ref`` is the concatenation reference (0..255 for UDH8, 0..65535 otherwise); ``packed``
    packs GSM 7-bit septets (with the fill bits that align them after a UDH).
    """
    limit = 0xFF if scheme is Scheme.UDH8 else 0xFFFF
    if not 0 <= ref <= limit:
        raise ValueError(f"ref {ref} out of range for {scheme.value}")
    chunks = split_chunks(text, data_coding, scheme, packed)
    if len(chunks) > 255:
        raise ValueError(f"text needs {len(chunks)} parts; at most 255 are possible")
    gsm = alphabet(data_coding) is Alphabet.GSM7
    if len(chunks) == 1:
        return [Part(encode_text(text, data_coding, packed=packed))]
    parts: list[Part] = []
    total = len(chunks)
    for seq, chunk in enumerate(chunks, 1):
        info = ConcatInfo(ref, total, seq)
        if scheme is Scheme.SAR:
            tlvs: dict[int, TlvValue] = {
                Tag.SAR_MSG_REF_NUM: ref,
                Tag.SAR_TOTAL_SEGMENTS: total,
                Tag.SAR_SEGMENT_SEQNUM: seq,
            }
            parts.append(Part(encode_text(chunk, data_coding, packed=packed), 0, tlvs))
            continue
        udh = build_udh([concat_element(info, scheme)])
        if gsm and packed:
            payload = gsm7.pack(gsm7.to_septets(chunk), _fill_bits(len(udh)))
        else:
            payload = encode_text(chunk, data_coding)
        parts.append(Part(udh + payload, EsmClass.UDHI))
    return parts


def _is_gsm7(data_coding: int) -> bool:
    try:
        return alphabet(data_coding) is Alphabet.GSM7
    except ValueError:
        return False


def message_parts(pdu: Pdu, packed: bool = False) -> tuple[ConcatInfo | None, bytes]:
    """(concatenation info, the user data without UDH) of a submit_sm, deliver_sm or data_sm.

    The user data is the short_message, or the message_payload TLV when short_message is empty.
    Concatenation comes from a UDH (esm_class UDHI) or from the SAR TLVs. With ``packed``, GSM
    7-bit user data is returned as unpacked septets (fill bits after a UDH honoured). Raises
    ValueError for a malformed UDH.
    """
    data: bytes = getattr(pdu, "short_message", b"") or pdu.tlv_bytes(Tag.MESSAGE_PAYLOAD) or b""
    esm_class: int = getattr(pdu, "esm_class", 0)
    info: ConcatInfo | None = None
    udh_len = 0
    if esm_class & EsmClass.UDHI:
        elements, rest = parse_udh(data)
        udh_len = len(data) - len(rest)
        info = concat_from_elements(elements)
    else:
        ref = pdu.tlv_int(Tag.SAR_MSG_REF_NUM)
        total = pdu.tlv_int(Tag.SAR_TOTAL_SEGMENTS)
        seq = pdu.tlv_int(Tag.SAR_SEGMENT_SEQNUM)
        if ref is not None and total is not None and seq is not None:
            info = ConcatInfo(ref, total, seq)
    if packed and _is_gsm7(getattr(pdu, "data_coding", 0)):
        return info, gsm7.unpack(data[udh_len:], fill_bits=_fill_bits(udh_len))
    return info, data[udh_len:]


@dataclass(slots=True)
class _Pending:
    total: int
    data_coding: int
    last_seen: float
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A message given up on: what arrived, decoded in part order."""

    source: str
    destination: str
    ref: int
    total: int
    received: tuple[int, ...]
    text: str


def _decode_units(units: bytes, data_coding: int) -> str:
    if alphabet(data_coding) is Alphabet.GSM7:
        return gsm7.from_septets(units)
    return decode_text(units, data_coding)


class Reassembler:
    """Collects the parts of concatenated messages, keyed by (source, destination, ref).

    No clock inside: every call that cares about time takes ``now`` (seconds, any epoch).
    Parts are joined before decoding, so an escape or surrogate pair that a sloppy sender split
    across parts still decodes. GSM 7-bit parts are kept as unpacked septets.
    """

    def __init__(self, timeout: float = 600.0, max_pending: int = 100_000) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: dict[tuple[str, str, int], _Pending] = {}
        self._evicted: list[Incomplete] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self,
        source: str,
        destination: str,
        info: ConcatInfo,
        units: bytes,
        data_coding: int,
        now: float,
    ) -> str | None:
        """Store one part; return the whole text when this part completes the message.

        ``units`` are unpacked septets for GSM 7-bit, else the encoded octets. Raises
        ValueError for impossible part numbers or a non-text data_coding. A repeated part
        replaces the earlier copy; a different part count under the same key starts over.
        """
        if info.total < 1 or not 1 <= info.seqnum <= info.total:
            raise ValueError(f"bad part {info.seqnum} of {info.total}")
        if alphabet(data_coding) is Alphabet.BINARY:
            raise ValueError("binary messages are not reassembled as text")
        key = (source, destination, info.ref)
        pending = self._pending.get(key)
        if pending is None or pending.total != info.total:
            if pending is None and len(self._pending) >= self.max_pending:
                oldest = next(iter(self._pending))
                self._evicted.append(self._incomplete(oldest, self._pending.pop(oldest)))
            pending = _Pending(info.total, data_coding, now)
            self._pending[key] = pending
        pending.parts[info.seqnum] = units
        pending.last_seen = now
        if len(pending.parts) < pending.total:
            return None
        del self._pending[key]
        joined = b"".join(pending.parts[i] for i in range(1, pending.total + 1))
        return _decode_units(joined, pending.data_coding)

    def add_pdu(self, pdu: Pdu, now: float, packed: bool = False) -> str | None:
        """Feed a submit_sm / deliver_sm / data_sm. A message that is not concatenated (or
        claims to be 1 part) is returned at once; otherwise as :meth:`add`."""
        info, units = message_parts(pdu, packed=packed)
        data_coding: int = getattr(pdu, "data_coding", 0)
        if info is None or info.total == 1:
            return _decode_units(units, data_coding)
        source: str = getattr(pdu, "source_addr", "")
        destination: str = getattr(pdu, "destination_addr", "")
        return self.add(source, destination, info, units, data_coding, now)

    def expire(self, now: float) -> list[Incomplete]:
        """Drop messages with no new part for ``timeout`` seconds (and any evicted for room);
        return them so the caller can log or deliver what arrived."""
        out, self._evicted = self._evicted, []
        for key in [k for k, p in self._pending.items() if now - p.last_seen >= self.timeout]:
            out.append(self._incomplete(key, self._pending.pop(key)))
        return out

    @staticmethod
    def _incomplete(key: tuple[str, str, int], pending: _Pending) -> Incomplete:
        seqs = tuple(sorted(pending.parts))
        text = _decode_units(b"".join(pending.parts[i] for i in seqs), pending.data_coding)
        return Incomplete(key[0], key[1], key[2], pending.total, seqs, text)
