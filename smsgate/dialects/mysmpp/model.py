"""One parsed request, whichever syntax (JSON or XML) it came in."""

from __future__ import annotations

from dataclasses import dataclass, field


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
