"""send.php's channel flags: what kind of message a request asks for, and what it carries.

SMSC.ru picks the channel with one flag (its libraries' `format`): `flash=1`, `bin=1` (the
octets themselves in `mes`) or `bin=2` (`mes` in hex), `hlr=1`, `ping=1`, `push=1`, `mms=1`,
`mail=1`, `call=1`, `viber=1`, `soc=1`, `tg=1`. smsgate sends SMS, flash SMS, binary SMS, HLR
queries and pings; it refuses the other channels (error 8, with the id), so that nothing but
what was asked for is ever sent or charged.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from ...core import payload
from ...core.models import Message
from .errors import SmscError
from .parse import Params

Kind = Literal["sms", "flash", "binary", "hlr", "ping"]

REFUSED: Final = ("push", "mms", "mail", "call", "viber", "soc", "tg")
TYPES: Final[dict[str, int]] = {"sms": 0, "flash": 1, "binary": 2, "hlr": 4, "ping": 5}
_ENCODING_KIND: Final[dict[str, Kind]] = {
    payload.BINARY: "binary",
    payload.BINARY_UDH: "binary",
    payload.HLR: "hlr",
    payload.PING: "ping",
}


class Channel(msgspec.Struct, frozen=True):
    kind: Kind
    raw_binary: bool = False  # bin=1: `mes` holds the octets themselves, not their hex

    @property
    def has_text(self) -> bool:
        """Whether `mes` is read: an HLR query and a ping carry none."""
        return self.kind not in ("hlr", "ping")


def _switch(p: Params, name: str, allowed: tuple[int, ...] = (0, 1)) -> int:
    value = p.flag(name)
    if value not in allowed:
        raise SmscError(1)
    return value


def channel_of(p: Params, msg_id: str) -> Channel:
    """The channel a send asks for; SmscError 8 (with the id) for one smsgate does not send,
    1 for flags that are not SMSC.ru's values or ask for two channels at once."""
    for name in REFUSED:
        if p.flag(name):
            raise SmscError(8, msg_id=msg_id)
    binary = _switch(p, "bin", (0, 1, 2))
    chosen: list[Channel] = []
    if _switch(p, "flash"):
        chosen.append(Channel("flash"))
    if binary:
        chosen.append(Channel("binary", raw_binary=binary == 1))
    if _switch(p, "hlr"):
        chosen.append(Channel("hlr"))
    if _switch(p, "ping"):
        chosen.append(Channel("ping"))
    if len(chosen) > 1:
        raise SmscError(1)
    return chosen[0] if chosen else Channel("sms")


def binary_payload(text: str, channel: Channel, charset: str) -> tuple[str, str]:
    """(encoding, hex) of a binary message's `mes`: its octets (bin=1, `mes` encoded back in the
    request's charset) or its hex (bin=2; spaces allowed). Data that starts with a well-formed
    UDH is sent with it as its UDH. SmscError 1 for data that is neither."""
    try:
        data = text.encode(charset) if channel.raw_binary else payload.octets(text)
    except (ValueError, UnicodeError):
        raise SmscError(1) from None
    kind = payload.BINARY_UDH if payload.udh_size(data) is not None else payload.BINARY
    return kind, data.hex()


def type_of(message: Message) -> int:
    """SMSC.ru's message type (0 SMS, 1 flash, 2 binary, 4 HLR, 5 ping) of a stored message."""
    kind = _ENCODING_KIND.get(message.encoding)
    if kind is None:
        kind = "flash" if message.flash else "sms"
    return TYPES[kind]


def is_hlr(message: Message) -> bool:
    return message.encoding == payload.HLR
