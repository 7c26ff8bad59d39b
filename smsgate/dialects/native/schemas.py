"""Request and response bodies of the native API (msgspec: strict types, fast).

The OpenAPI document (openapi.py) is generated from these Structs: a field's `msgspec.Meta`
here carries only its description and examples, never a constraint, which msgspec would
enforce on decoding and so change what the API answers. The limits the core enforces are
added to the document from the running configuration (openapi.py, `limits`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# "all": submitted and every final status; "final": final statuses only (like Kannel's dlr-mask
# without its intermediate bits). Kept in the message's meta under EVENTS when not the default.
CallbackEvents = Annotated[
    Literal["all", "final"],
    msgspec.Meta(
        description="Which status changes are pushed to the callback URL: `all` (`submitted` "
        "and the final status) or `final` (the final status only: one callback per message)"
    ),
]
EVENTS = "callback_events"

# GET /api/v1/messages: `limit` is clamped to 1..LIST_MAX (default LIST_DEFAULT); incoming SMS
# come INCOMING_PAGE at a time.
LIST_DEFAULT = 100
LIST_MAX = 1000
INCOMING_PAGE = 100


def _doc(description: str, *examples: object) -> msgspec.Meta:
    return msgspec.Meta(description=description, examples=list(examples) if examples else None)


Phone = Annotated[
    str | int,
    _doc(
        "The recipient's number in international form, as a string or a JSON number, with or "
        "without `+`, spaces or dashes (up to 15 digits)",
        "+79651111111",
        79651111111,
    ),
]
Sender = Annotated[
    str | None,
    _doc(
        "The sender name; one of the account's allowed senders (GET /api/v1/senders). "
        "Default: the account's default sender, if it has one",
        "ACME",
    ),
]
ClientRef = Annotated[
    str | None,
    _doc(
        "Your idempotency key, unique per account: a repeat is answered with the message "
        "stored under it, and nothing is sent again",
        "order-42",
    ),
]
ScheduleAt = Annotated[
    str | float | None,
    _doc(
        "When to send: ISO 8601 with a UTC offset, or UNIX seconds; not in the past and at most "
        "the configured days ahead. Default: now",
        "2026-12-01T09:00:00+05:00",
    ),
]
Ttl = Annotated[
    int | None,
    _doc("Validity in seconds from when the message is due (default one day)", 3600),
]
Priority = Annotated[int, _doc("0 (the default) to 9; higher goes first", 0)]
Tag = Annotated[str | None, _doc("A free label of yours, given back with the message", "otp")]
CallbackUrl = Annotated[
    str | None,
    _doc(
        "Where this message's status changes are POSTed (default: the account's native "
        "callback URL). http or https; an address inside a private network is refused unless "
        "the operator opened it",
        "https://example.com/dr",
    ),
]


class SendRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One SMS to one recipient. Only `to` and `text` are required."""

    to: Phone
    text: Annotated[
        str,
        _doc(
            "The message text: GSM 03.38 7-bit when every character has one (160 characters, "
            "153 per part), else UCS-2 (70, 67 per part); a longer text is sent in parts",
            "Your code is 1234",
        ),
    ]
    sender: Sender = msgspec.field(default=None, name="from")
    client_ref: ClientRef = None
    schedule_at: ScheduleAt = None
    ttl: Ttl = None
    priority: Priority = 0
    flash: Annotated[bool, _doc("Show on the screen at once, without storing it (class 0)")] = False
    tag: Tag = None
    callback_url: CallbackUrl = None
    callback_events: CallbackEvents = "all"
    confidential: Annotated[
        bool,
        _doc(
            "Keep the text out of every answer and callback, and blank it in the store once "
            "the message is handed to the carrier"
        ),
    ] = False


# Not tracked by the cyclic GC (decoded JSON holds no cycles): a bulk body has 50,000 of them.
class Recipient(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """One recipient of a bulk request."""

    to: Phone
    text: Annotated[
        str | None, _doc("This recipient's own text (default: the request's `text`)")
    ] = None
    client_ref: ClientRef = None
    vars: Annotated[
        dict[str, str | int | float] | None,
        _doc("Values for the text's `%name%` placeholders", {"name": "Michael"}),
    ] = None


class BulkRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Many recipients as one job; each is validated on its own unless `atomic`."""

    recipients: Annotated[
        list[Recipient], _doc("The recipients, in order: answers refer to them by index")
    ]
    text: Annotated[
        str | None,
        _doc(
            "The text of every recipient without one of its own; `%name%` is filled from each "
            "recipient's `vars`",
            "Dear %name%",
        ),
    ] = None
    sender: Sender = msgspec.field(default=None, name="from")
    client_ref: Annotated[
        str | None, _doc("The job's reference (recipients have their own)", "campaign-7")
    ] = None
    schedule_at: ScheduleAt = None
    ttl: Ttl = None
    priority: Priority = 0
    tag: Tag = None
    callback_url: CallbackUrl = None
    callback_events: CallbackEvents = "all"
    atomic: Annotated[
        bool,
        _doc(
            "All or nothing: one refused recipient refuses the whole request (422, nothing "
            "stored or charged)"
        ),
    ] = False


Timestamp = Annotated[str, _doc("UTC, ISO 8601 with milliseconds", "2026-11-28T05:37:35.316Z")]
MaybeTimestamp = Annotated[str | None, _doc("UTC, ISO 8601 with milliseconds, or null")]
ErrorText = Annotated[
    str | None,
    _doc(
        "The canonical error code of a refusal or failed delivery (`invalid_phone`, "
        "`absent_subscriber`, `expired`, ...), or null",
        "absent_subscriber",
    ),
]


class MessageOut(msgspec.Struct):
    """A message as the API answers it. Not keyword-only: render.message_out builds one by
    position, the order of these fields."""

    id: Annotated[str, _doc("smsgate's id of the message", "0193a1c2-7d4e-7b1a-9c3d-5e6f7a8b9c0d")]
    to: Annotated[str, _doc("The recipient, E.164 with `+`", "+79651111111")]
    sender: Annotated[str | None, _doc("The sender name, or null", "ACME")] = msgspec.field(
        name="from"
    )
    text: Annotated[str | None, _doc("The text; null for a confidential message")]
    status: Annotated[str, _doc("Where the message stands (see the statuses)", "delivered")]
    error: ErrorText
    client_ref: Annotated[str | None, _doc("Your idempotency key, or null", "order-42")]
    job_id: Annotated[str | None, _doc("The bulk request it came in, or null")]
    encoding: Annotated[str, _doc("`gsm7` or `ucs2` for a text", "gsm7")]
    segments: Annotated[int, _doc("SMS parts it takes (each is billed)", 1)]
    price: Annotated[
        str, _doc("What it cost: segments x the account's price, a decimal string", "0.5000")
    ]
    created_at: Timestamp
    updated_at: Timestamp
    scheduled_at: Annotated[str | None, _doc("When it is due, if scheduled (UTC ISO 8601)")]
    expires_at: Annotated[str | None, _doc("When it expires undelivered (UTC ISO 8601)")]
    submitted_at: Annotated[str | None, _doc("When the carrier took it (UTC ISO 8601)")]
    done_at: Annotated[str | None, _doc("When it reached its final status (UTC ISO 8601)")]
    tag: Annotated[str | None, _doc("Your label, or null", "otp")]
    priority: Annotated[int, _doc("0 to 9", 0)]
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


class MessageList(msgspec.Struct, kw_only=True):
    """A page of messages, oldest first."""

    messages: list[MessageOut]
    next_cursor: Annotated[
        str | None,
        _doc("Pass as `cursor` for the next page; null on the last page", "1042"),
    ]


class CallbackOut(msgspec.Struct, kw_only=True):
    """Where one callback of an event stands: pending (being retried), done or dead."""

    dialect: Annotated[str, _doc("The dialect whose format it is sent in", "native")]
    state: Annotated[
        str, _doc("`pending` (being tried again), `done` (answered 2xx) or `dead` (given up)")
    ]
    attempts: Annotated[int, _doc("Attempts made so far", 1)]
    last_error: Annotated[str | None, _doc("The last failed attempt's error", "HTTP 503")]


class EventOut(msgspec.Struct, kw_only=True):
    """One status change of a message."""

    id: Annotated[str, _doc("The event's id, as callbacks carry it", "ev-17")]
    status: Annotated[str, _doc("The status it changed to", "submitted")]
    error: ErrorText
    carrier_error: Annotated[str | None, _doc("The carrier's raw code, as it reported it", "001")]
    at: MaybeTimestamp
    callbacks: Annotated[
        list[CallbackOut], _doc("The callbacks this event fell due for (kept until purged)")
    ]


class EventsOut(msgspec.Struct, kw_only=True):
    """A message's status history, oldest first."""

    events: list[EventOut]


class BulkError(msgspec.Struct):
    """A recipient refused, by its index in `recipients`."""

    index: Annotated[int, _doc("The recipient's index in the request's `recipients`", 1)]
    code: Annotated[str, _doc("The refusal's code", "stop_listed")]
    message: Annotated[str, _doc("What was wrong, in words", "phone is stop-listed")]


class BulkResponse(msgspec.Struct, kw_only=True):
    """What became of each recipient of a bulk request."""

    job_id: Annotated[str | None, _doc("The job's id (GET /api/v1/jobs/{job_id})")]
    accepted: Annotated[int, _doc("Recipients stored and to be sent", 2)]
    duplicates: Annotated[int, _doc("Recipients whose client_ref was already stored", 0)]
    rejected: Annotated[list[BulkError], _doc("Recipients refused, each with its code")]
    message_ids: Annotated[
        list[str | None],
        _doc("Each recipient's message id, in order (null where refused)"),
    ]


class JobOut(msgspec.Struct, kw_only=True):
    """A bulk request's messages counted by status."""

    id: Annotated[str, _doc("The job's id")]
    client_ref: Annotated[str | None, _doc("The request's client_ref", "campaign-7")]
    total: Annotated[int, _doc("Messages the job stored", 2)]
    created_at: MaybeTimestamp
    by_status: Annotated[dict[str, int], _doc("Messages per status", {"delivered": 1, "queued": 1})]


class BalanceOut(msgspec.Struct, kw_only=True):
    """The account's money."""

    balance: Annotated[str, _doc("The balance, a decimal string", "999.5000")]
    currency: Annotated[str, _doc("The account's currency", "RUB")]
    price_per_segment: Annotated[str, _doc("The price of one SMS part", "0.5000")]


class SendersOut(msgspec.Struct, kw_only=True):
    """The sender names the account may use in `from`."""

    senders: Annotated[list[str], _doc("Allowed sender names", ["ACME", "Test"])]


class IncomingOut(msgspec.Struct, kw_only=True):
    """An SMS from a phone to one of the account's numbers or names."""

    id: Annotated[str, _doc("smsgate's id of the incoming SMS")]
    sender: Annotated[str, _doc("The phone it came from, E.164", "+79651111111")] = msgspec.field(
        name="from"
    )
    to: Annotated[str, _doc("The number or name it was sent to", "ACME")]
    text: Annotated[str, _doc("Its text", "STOP")]
    received_at: MaybeTimestamp


class IncomingList(msgspec.Struct, kw_only=True):
    """A page of incoming SMS, oldest first."""

    messages: list[IncomingOut]
    next_cursor: Annotated[
        str | None, _doc("Pass as `cursor` for the next page; null on the last page")
    ]


# Error bodies: built by errors.py and render.refused_bulk; these describe them (openapi.py).
class ErrorDetail(msgspec.Struct, kw_only=True):
    """Why a request was refused."""

    code: Annotated[str, _doc("The error's code (each answer lists its own)", "invalid_phone")]
    message: Annotated[str, _doc("What was wrong, in words", "invalid phone number")]
    field: Annotated[
        str | msgspec.UnsetType, _doc("The request field at fault, when one is", "to")
    ] = msgspec.UNSET


class ErrorOut(msgspec.Struct, kw_only=True):
    """A refused request: nothing was stored or charged."""

    error: ErrorDetail


class BulkRefused(msgspec.Struct, kw_only=True):
    """A bulk request refused as a whole (402 for the balance, 422 atomic): nothing stored."""

    error: ErrorDetail
    rejected: Annotated[
        list[BulkError],
        _doc(
            "Only the recipients refused for reasons of their own, which the client must fix "
            "whatever else it does"
        ),
    ]


# Callbacks (POSTed to the callback URL): built by callbacks.py; these describe them.
class StatusCallback(msgspec.Struct, kw_only=True):
    """A status change of one of your messages."""

    event_id: Annotated[str, _doc("The same on every retry of one event: dedupe on it", "ev-17")]
    type: Annotated[Literal["status"], _doc("What the event is about: a status change")]
    status: Annotated[str, _doc("The message's new status", "delivered")]
    error: ErrorText
    carrier_error: Annotated[str | None, _doc("The carrier's raw code, if any")]
    at: MaybeTimestamp
    message: MessageOut


class IncomingCallback(msgspec.Struct, kw_only=True):
    """An incoming SMS to one of your numbers or names."""

    event_id: Annotated[str, _doc("The same on every retry: dedupe on it")]
    type: Annotated[Literal["incoming"], _doc("What the event is about: an incoming SMS")]
    incoming: IncomingOut
