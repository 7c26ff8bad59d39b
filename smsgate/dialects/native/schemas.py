"""Request and response bodies of the native API (msgspec: strict types, fast)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# "all": submitted and every final status; "final": final statuses only (like Kannel's dlr-mask
# without its intermediate bits). Kept in the message's meta under EVENTS when not the default.
CallbackEvents = Literal["all", "final"]
EVENTS = "callback_events"


class SendRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: str | int
    text: str
    sender: str | None = msgspec.field(default=None, name="from")
    client_ref: str | None = None
    schedule_at: str | float | None = None  # ISO 8601 with offset, or UNIX seconds
    ttl: int | None = None  # seconds
    priority: int = 0
    flash: bool = False
    tag: str | None = None
    callback_url: str | None = None
    callback_events: CallbackEvents = "all"
    confidential: bool = False


# Not tracked by the cyclic GC (decoded JSON holds no cycles): a bulk body has 50,000 of them.
class Recipient(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    to: str | int
    text: str | None = None
    client_ref: str | None = None
    vars: dict[str, str | int | float] | None = None


class BulkRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    recipients: list[Recipient]
    text: str | None = None  # default text; %var% filled from each recipient's vars
    sender: str | None = msgspec.field(default=None, name="from")
    client_ref: str | None = None  # the job's reference
    schedule_at: str | float | None = None
    ttl: int | None = None
    priority: int = 0
    tag: str | None = None
    callback_url: str | None = None
    callback_events: CallbackEvents = "all"
    atomic: bool = False


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    to: str
    sender: str | None = msgspec.field(name="from")
    text: str | None
    status: str
    error: str | None
    client_ref: str | None
    job_id: str | None
    encoding: str
    segments: int
    price: str
    created_at: str
    updated_at: str
    scheduled_at: str | None
    expires_at: str | None
    submitted_at: str | None
    done_at: str | None
    tag: str | None
    priority: int
    # Only in the answer of GET /api/v1/messages/{id} (absent elsewhere: they cost reads).
    carrier_error: Annotated[
        str | msgspec.UnsetType | None,
        msgspec.Meta(
            description="The carrier's raw code from its latest report that had one (e.g. "
            "smpp:0x0000000b, or a receipt's err), null if none; only on GET of one message"
        ),
    ] = msgspec.UNSET
    callback_error: Annotated[
        str | msgspec.UnsetType | None,
        msgspec.Meta(
            description="The error of this message's latest failed callback attempt (e.g. "
            "'HTTP 500', 'TimeoutError: ...'), null if none failed; only on GET of one message"
        ),
    ] = msgspec.UNSET


class CallbackOut(msgspec.Struct, kw_only=True):
    """Where one callback of an event stands: pending (being retried), done or dead."""

    dialect: str
    state: str
    attempts: int
    last_error: str | None


class EventOut(msgspec.Struct, kw_only=True):
    id: str
    status: str
    error: str | None
    carrier_error: str | None  # the carrier's raw code, as it reported it
    at: str | None
    callbacks: list[CallbackOut]  # those this event fell due for (kept until purged)


class EventsOut(msgspec.Struct, kw_only=True):
    events: list[EventOut]


class BulkError(msgspec.Struct):
    index: int
    code: str
    message: str


class BulkResponse(msgspec.Struct, kw_only=True):
    job_id: str | None
    accepted: int
    duplicates: int
    rejected: list[BulkError]
    message_ids: list[str | None]
