"""Delivery receipts in the de-facto format of SMPP 3.4 Appendix B:

``id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
err:E text:...``

Formatting follows that form exactly. Parsing is forgiving, as SMSCs vary: keys in any case and
order, extra or missing spaces, ``submit_date``, missing fields or text, dates with seconds or a
four-digit year, and long stat words (``DELIVERED``). Message ids may be hex in submit_sm_resp
and decimal in the receipt (or the reverse): see :func:`id_variants`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .constants import MessageState, Tag
from .pdu import Pdu

STATS: dict[str, MessageState] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}
STAT_FOR_STATE: dict[int, str] = {state: stat for stat, state in STATS.items()}
_ALIASES = {
    "DELIVERED": "DELIVRD",
    "DELIVER": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
    "REJECT": "REJECTD",
    "EXPIRE": "EXPIRED",
    "DELETE": "DELETED",
}

_KEY = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err|text)\s*:",
    re.IGNORECASE,
)


@dataclass(slots=True)
class DeliveryReceipt:
    id: str
    stat: str = "UNKNOWN"
    sub: int = 1
    dlvrd: int = 0
    submit_date: datetime | None = None
    done_date: datetime | None = None
    err: str = "000"
    text: str = ""

    @property
    def message_state(self) -> MessageState:
        return STATS.get(self.stat, MessageState.UNKNOWN)

    def format(self) -> str:
        """The receipt text; ``text`` is cut to its first 20 characters, as the spec says."""
        return (
            f"id:{self.id} sub:{self.sub:03d} dlvrd:{self.dlvrd:03d}"
            f" submit date:{format_date(self.submit_date)}"
            f" done date:{format_date(self.done_date)}"
            f" stat:{self.stat} err:{self.err} text:{self.text[:20]}"
        )


def format_date(value: datetime | None) -> str:
    return value.strftime("%y%m%d%H%M") if value is not None else ""


def parse_date(value: str) -> datetime | None:
    """YYMMDDhhmm, YYMMDDhhmmss (years 2000-2099) or YYYYMMDDhhmmss, separators ignored;
    None if invalid."""
    digits = "".join(ch for ch in value if ch in "0123456789")
    if len(digits) in (10, 12):
        digits = "20" + digits
    fmt = {12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(digits))
    if fmt is None:
        return None
    try:
        return datetime.strptime(digits, fmt)
    except ValueError:
        return None


def normalize_stat(value: str) -> str:
    word = value.strip().upper()
    return _ALIASES.get(word, word) or "UNKNOWN"


def _int(value: str, default: int) -> int:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else default


def parse_receipt(data: str | bytes) -> DeliveryReceipt:
    """Parse a receipt text. Raises ValueError when it has no ``id:``."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    matches = list(_KEY.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = re.sub(r"[\s_]+", "", match.group(1).lower())
        if key == "text":
            fields.setdefault("text", text[match.end() :].strip())
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    receipt_id = _first_word(fields.get("id", ""))
    if not receipt_id:
        raise ValueError(f"not a delivery receipt: {text[:60]!r}")
    return DeliveryReceipt(
        id=receipt_id,
        stat=normalize_stat(_first_word(fields.get("stat", ""))),
        sub=_int(fields.get("sub", ""), 1),
        dlvrd=_int(fields.get("dlvrd", ""), 0),
        submit_date=parse_date(fields.get("submitdate", "")),
        done_date=parse_date(fields.get("donedate", "")),
        err=_first_word(fields.get("err", "")) or "000",
        text=fields.get("text", ""),
    )


def _first_word(value: str) -> str:
    words = value.split()
    return words[0] if words else ""


def quick_receipt(raw: bytes) -> tuple[str, str, str] | None:
    """(id, stat, err) of a receipt in the exact standard form (lowercase keys, single spaces),
    in a few µs; None for anything else (then use :func:`parse_receipt`). For hot paths that
    need only these three fields."""
    if not raw.startswith(b"id:"):
        return None
    end = raw.find(b" ", 3)
    stat_at = raw.find(b" stat:", end)
    if end < 0 or stat_at < 0:
        return None
    stat_end = raw.find(b" ", stat_at + 6)
    stat = raw[stat_at + 6 : stat_end if stat_end > 0 else len(raw)].decode("latin-1")
    if stat not in STATS:
        return None
    err = ""
    if stat_end > 0 and raw.startswith(b" err:", stat_end):
        err_end = raw.find(b" ", stat_end + 5)
        err = raw[stat_end + 5 : err_end if err_end > 0 else len(raw)].decode("latin-1")
    return raw[3:end].decode("latin-1"), stat, err or "000"


def receipt_from_pdu(pdu: Pdu) -> DeliveryReceipt:
    """The receipt of a deliver_sm or data_sm: the text form, with the receipted_message_id and
    message_state TLVs taking precedence when present. Raises ValueError if there is no id."""
    raw: bytes = getattr(pdu, "short_message", b"") or pdu.tlv_bytes(Tag.MESSAGE_PAYLOAD) or b""
    tlv_id = pdu.tlv_str(Tag.RECEIPTED_MESSAGE_ID)
    tlv_state = pdu.tlv_int(Tag.MESSAGE_STATE)
    try:
        receipt = parse_receipt(raw)
    except ValueError:
        if not tlv_id:
            raise
        receipt = DeliveryReceipt(id=tlv_id)
    if tlv_id:
        receipt.id = tlv_id
    if tlv_state is not None and tlv_state in STAT_FOR_STATE:
        receipt.stat = STAT_FOR_STATE[tlv_state]
    return receipt


def id_variants(message_id: str, *, hex_to_dec: bool = True, dec_to_hex: bool = True) -> set[str]:
    """Normalised forms under which a receipt may name ``message_id``: lowercase without
    leading zeros, plus its decimal form if it reads as hex and its hex form if it reads as
    decimal. Index submit_sm_resp ids by these and look receipts up by :func:`normalize_id`.
    Both conversions can collide ("10" hex is "16" decimal): turn off the one a peer never
    needs."""
    norm = normalize_id(message_id)
    out = {norm}
    if hex_to_dec and norm and all(c in "0123456789abcdef" for c in norm):
        out.add(str(int(norm, 16)))
    if dec_to_hex and norm.isdigit():
        out.add(format(int(norm), "x"))
    return out


def normalize_id(message_id: str) -> str:
    norm = message_id.strip().lower()
    stripped = norm.lstrip("0")
    return stripped or ("0" if norm else "")


def ids_match(message_id: str, receipt_id: str) -> bool:
    return normalize_id(receipt_id) in id_variants(message_id)
