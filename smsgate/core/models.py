"""Domain records. msgspec Structs: cheap to build, encode and decode in bulk."""

from __future__ import annotations

from typing import Any

import msgspec

from .status import Status
from .windows import Window


class Credential(msgspec.Struct, kw_only=True):
    """How an account proves itself to one dialect.

    kind: 'basic' (identifier=user, secret=password), 'login' (login/password in the request),
    'token' (bearer/API token; identifier is its SHA-256), 'salt' (a shared secret the client
    hashes with, e.g. OsonSMS pass_salt_hash), 'apikey', 'smpp' (system_id/password).
    """

    account_id: int
    dialect: str
    kind: str
    identifier: str
    secret: str


class Account(msgspec.Struct, kw_only=True):
    id: int
    name: str
    balance: int = 0  # micro-units
    price: int = 0  # micro-units per segment
    currency: str = "RUB"
    tps: int = 0  # messages per second; 0 = unlimited
    timezone: str = "UTC"
    active: bool = True
    ip_allowlist: list[str] = msgspec.field(default_factory=list)
    callback_urls: dict[str, str] = msgspec.field(default_factory=dict)  # dialect -> URL
    settings: dict[str, Any] = msgspec.field(default_factory=dict)  # per-dialect options
    senders: list[str] = msgspec.field(default_factory=list)
    created_at: float = 0.0


class Submission(msgspec.Struct, kw_only=True, gc=False):
    """One recipient of a send request, as a dialect parsed it (phone not yet normalised)."""

    phone: str | int
    text: str
    sender: str | None = None
    client_ref: str | None = None
    priority: int = 0
    not_before: float | None = None
    expires_at: float | None = None
    ttl: float | None = None
    window: Window | None = None
    flash: bool = False
    tag: str | None = None
    callback_url: str | None = None
    confidential: bool = False
    meta: dict[str, Any] | None = None
    # Not a text (core.payload): "binary"/"binary_udh" (`text` is the data in hex), "hlr" or
    # "ping" (no text). None: a text, in GSM 7-bit or UCS-2 as its characters allow.
    encoding: str | None = None
    # A price the dialect fixed (micro-units; an HLR query's), instead of parts x the account's.
    price: int | None = None


class Alike(list[Submission]):
    """Submissions of one request made from one Submission (a bulk's parse): they share the
    very objects in every field but phone, text and client_ref, so `build_messages` need
    not compare them (10 ms a 50,000-recipient bulk)."""

    __slots__ = ()


class Refused(msgspec.Struct, kw_only=True):
    """A recipient its dialect refused itself, on a rule only that dialect has: the core
    keeps it like a recipient it refused (with `keep_rejected`), counts and reports it."""

    error: Any  # GatewayError (core.errors): not a wire type, never encoded
    phone: str
    client_ref: str | None = None  # kept with it, unless already another message's
    meta: dict[str, Any] | None = None


class Message(msgspec.Struct, kw_only=True, gc=False):
    id: str
    seq: int = 0
    account_id: int
    dialect: str
    client_ref: str | None = None
    job_id: str | None = None
    sender: str | None = None
    phone: str
    text: str
    encoding: str  # "gsm7" | "ucs2", or one of core.payload.KINDS
    segments: int
    priority: int = 0
    not_before: float | None = None
    expires_at: float | None = None
    window: Window | None = None
    flash: bool = False
    tag: str | None = None
    callback_url: str | None = None
    status: Status = Status.ACCEPTED
    error_code: str | None = None
    price: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    submitted_at: float | None = None
    done_at: float | None = None
    carrier_id: str | None = None
    confidential: bool = False
    meta: dict[str, Any] | None = None


class OneTemplate(list[Message]):
    """Messages made from one template (a bulk's, `core.validate.build_messages`): they differ
    only in `VARYING`, and in the seq a store numbers them with. A store takes every other
    field from the first instead of looking at each message (~15-30 ms a 50,000 bulk)."""

    __slots__ = ()
    VARYING = ("id", "client_ref", "phone", "text")


class Job(msgspec.Struct, kw_only=True):
    """A batch or broadcast: many messages accepted by one request."""

    id: str
    account_id: int
    dialect: str
    client_ref: str | None = None
    total: int = 0
    created_at: float = 0.0
    meta: dict[str, Any] | None = None


class JobCounts(msgspec.Struct, kw_only=True):
    job: Job
    by_status: dict[str, int]


class StatusEvent(msgspec.Struct, kw_only=True):
    """One status change of one message: DR history, and the source of callbacks."""

    seq: int = 0
    message_id: str
    account_id: int
    status: Status
    error_code: str | None = None
    at: float
    carrier_error: str | None = None


class MoMessage(msgspec.Struct, kw_only=True):
    """An incoming SMS from a phone to one of an account's numbers."""

    id: str
    seq: int = 0
    account_id: int
    phone: str  # the sender (subscriber)
    to: str  # our number / short code
    text: str
    received_at: float
    reply_to: str | None = None  # message id this answers, when known
    meta: dict[str, Any] | None = None


class Report(msgspec.Struct, kw_only=True):
    """A connector's word on a message: a submit result or a delivery receipt."""

    message_id: str
    status: Status
    carrier_id: str | None = None
    error_code: str | None = None
    carrier_error: str | None = None
    at: float


class Notice(msgspec.Struct, kw_only=True):
    """What the outbox keeps for one callback: the event and a snapshot of its subject."""

    kind: str  # 'dr' | 'mo'
    event_id: str
    event: StatusEvent | None = None
    message: Message | None = None
    mo: MoMessage | None = None
