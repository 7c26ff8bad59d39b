"""SMPP 3.4: the pure codec layer (no I/O) that the SMPP server and client build on.

Modules: ``constants`` (ids, statuses, tags), ``pdu`` (PDU dataclasses, ``decode``,
``PduReader``), ``gsm7`` and ``encoding`` (text codecs), ``concat`` (split and reassemble long
messages), ``receipt`` (delivery receipt text).
"""

from .constants import CommandId, CommandStatus, DataCoding, EsmClass, MessageState, Tag
from .pdu import Pdu, PduError, PduReader, decode

__all__ = [
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "EsmClass",
    "MessageState",
    "Pdu",
    "PduError",
    "PduReader",
    "Tag",
    "decode",
]
