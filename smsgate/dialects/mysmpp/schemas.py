"""One parsed request, whichever syntax (JSON, XML, form) it came in; the JSON request body
(msgspec: lenient about numbers vs strings, strict about shapes); what became of each phone."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import msgspec

from ...core.models import Message

Scalar = str | int


@dataclass
class Recipient:
    phone: str | int | None
    client_id_sms: str | int | None = None
    validity_period: str | None = None
    time_send: str | None = None
    number_sms: str | None = None  # XML: the client's number of this phone in its document


@dataclass
class Batch:
    """One `message` element: a text from a sender to some phones."""

    type_send_1: str | None = None
    type: str | None = None  # sms | flashsms | wappush | vcard | silence
    sender: str | int | None = None
    text: str | int | None = None
    recipients: list[Recipient] = field(default_factory=list)


@dataclass
class Credentials:
    login: str | None = None
    password: str | None = None
    token: str | None = None


@dataclass
class Parsed:
    credentials: Credentials
    batches: list[Batch] | None = None  # present: a send request
    id_sms: list[str | int] | None = None  # present: a status request
    detail: bool = False
    document: Element | None = None  # XML: the whole document, for the account requests


# The JSON request body ------------------------------------------------------------------------
class PhoneIn(msgspec.Struct):
    phone: Scalar | None = None
    client_id_sms: Scalar | None = None
    validity_period: str | None = None
    time_send: str | None = None


class MessageIn(msgspec.Struct):
    type_send_1: str | None = None
    type: str | None = None
    sender: Scalar | None = None
    text: Scalar | None = None
    phones: list[PhoneIn | Scalar] | PhoneIn | Scalar | None = None


class RequestIn(msgspec.Struct):
    login: Scalar | None = None
    password: Scalar | None = None
    token: Scalar | None = None
    message: list[MessageIn] | MessageIn | None = None
    id_sms: list[Scalar] | Scalar | None = None
    detail: Scalar | bool | None = None


# What the answers tell ------------------------------------------------------------------------
@dataclass
class Entry:
    """What became of one phone of a send: an id and parts, or an error text."""

    number_sms: str | None
    id_sms: int | None = None
    parts: int | None = None
    error: str | None = None


@dataclass
class StateRow:
    """One id of a status request and the account's message it names, if any."""

    id_sms: str | int
    message: Message | None
