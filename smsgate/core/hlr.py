"""An HLR query's answer, and the text it travels in. Pure.

A carrier answers an HLR query (core.payload.HLR) the way it reports a message: with a status
and a receipt text. The text is kept as the status event's `carrier_error` (the carrier's own
words on the outcome), in the form SMSC.ru's SMPP receipts give it:
`imsi:250011234567890 msc:79160000001 mcc:250 mnc:01 cn:Russia net:MTS rcn: rnet:`, each value
URL-encoded so that a name with a space or a colon stays one value.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

import msgspec

FIELDS = ("imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet")


class HlrAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """imsi: the SIM's IMSI; msc: the serving MSC's number; mcc, mnc: the subscriber's network;
    cn, net: its country and network names; rcn, rnet: the visited ones when roaming."""

    imsi: str = ""
    msc: str = ""
    mcc: str = ""
    mnc: str = ""
    cn: str = ""
    net: str = ""
    rcn: str = ""
    rnet: str = ""


def to_text(answer: HlrAnswer) -> str:
    return " ".join(f"{name}:{quote(getattr(answer, name), safe='')}" for name in FIELDS)


def from_text(text: str | None) -> HlrAnswer | None:
    """The answer a receipt text carries, or None when the text is not one (an error code)."""
    if not text or not text.startswith("imsi:"):
        return None
    values: dict[str, str] = {}
    for item in text.split(" "):
        name, sep, value = item.partition(":")
        if sep and name in FIELDS:
            values[name] = unquote(value)
    return HlrAnswer(**values)
