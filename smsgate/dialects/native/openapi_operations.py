"""What each endpoint of the native API is, for its OpenAPI document (openapi.py): its
answers on success, the error codes it can refuse with, its parameters and examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.errors import ErrorCode
from .schemas import LIST_DEFAULT, LIST_MAX

REF = "#/components/schemas/{name}"
C = ErrorCode

# What every authenticated request can be refused for, and what a request with a body can.
AUTH = (C.UNAUTHORIZED, C.IP_NOT_ALLOWED, C.UNAVAILABLE)
BODY = (C.MALFORMED_BODY, C.INVALID_FIELD, C.BAD_REQUEST, C.BODY_TOO_LARGE)
# A recipient's own refusals (store/rules.py's validity and stop list).
RECIPIENT = (
    C.INVALID_PHONE,
    C.EMPTY_TEXT,
    C.TEXT_TOO_LONG,
    C.SENDER_NOT_ALLOWED,
    C.STOP_LISTED,
    C.BAD_SCHEDULE,
    C.BAD_VALIDITY,
)


@dataclass(frozen=True)
class Operation:
    """One endpoint: its answers on success (`ok`: status -> (schema, why)) and the error codes
    it can refuse with, each answered with `errors.status_for(code)`."""

    method: str
    path: str
    tag: str
    summary: str
    description: str
    ok: dict[int, tuple[str, str]]
    refusals: tuple[ErrorCode, ...]
    body: str | None = None
    params: tuple[dict[str, Any], ...] = ()
    # Statuses whose body is not the plain error (a bulk's whole refusals).
    special: dict[int, dict[str, Any]] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name=name)}


def _path(name: str, what: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": what,
        "schema": {"type": "string", "examples": [example]},
    }


def _query(name: str, what: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": what, "schema": schema}


MESSAGE_ID = _path("message_id", "The message's id", "0193a1c2-7d4e-7b1a-9c3d-5e6f7a8b9c0d")
CURSOR = _query(
    "cursor", "`next_cursor` of the previous page (omit for the first)", {"type": "string"}
)
_WHEN = {"type": "string", "format": "date-time", "examples": ["2026-12-01T00:00:00+03:00"]}


def operations() -> list[Operation]:
    single_ok = {
        201: ("MessageOut", "A new message, stored and queued (or scheduled)"),
        200: (
            "MessageOut",
            "The message stored earlier under this `client_ref`: nothing was stored, charged "
            "or sent again, whatever this request says now",
        ),
    }
    return [
        Operation(
            "post",
            "/api/v1/messages",
            "Sending",
            "Send one SMS",
            "Stored before it is answered. `client_ref` is the idempotency key: a repeat "
            "answers 200 with the stored message instead of 201.",
            single_ok,
            (*AUTH, *BODY, *RECIPIENT, C.INSUFFICIENT_BALANCE),
            body="SendRequest",
            examples={
                "minimal": {"summary": "Only what is required", "value": _MINIMAL},
                "options": {
                    "summary": "Most options (schedule_at and callback_url: see the schema)",
                    "value": _OPTIONS,
                },
            },
        ),
        Operation(
            "post",
            "/api/v1/messages/bulk",
            "Sending",
            "Send to many recipients",
            "Each recipient is validated on its own (`rejected` lists those refused, by "
            "index) unless `atomic`. A request refused as a whole (nothing stored: the balance "
            "does not cover it, or `atomic` and a recipient refused) answers one error.",
            {202: ("BulkResponse", "Some recipients stored (or found as duplicates)")},
            (*AUTH, *BODY, C.MISSING_FIELD, C.TOO_MANY_RECIPIENTS, C.INSUFFICIENT_BALANCE),
            body="BulkRequest",
            special={
                402: _whole(
                    "Refused as a whole, `insufficient_balance`: the balance does not cover "
                    "the request's new messages (BulkRefused)"
                ),
                422: {
                    "description": "Nothing stored: every recipient refused (BulkResponse), "
                    "or `atomic` and some recipient refused (BulkRefused, code `bad_request`)",
                    "content": json_content({"oneOf": [ref("BulkResponse"), ref("BulkRefused")]}),
                },
            },
            examples={"bulk": {"summary": "A template and two recipients", "value": _BULK}},
        ),
        Operation(
            "get",
            "/api/v1/messages",
            "Messages",
            "List messages (cursor pagination)",
            "The account's messages, oldest first, filtered.",
            {200: ("MessageList", "A page of messages")},
            (*AUTH, C.INVALID_FIELD),
            params=(
                _query("status", "Only this status", ref("Status")),
                _query("to", "Only to this phone (E.164, `+` optional)", {"type": "string"}),
                _query("job_id", "Only this bulk request's", {"type": "string"}),
                _query("since", "Created at or after (ISO 8601 with offset)", _WHEN),
                _query("until", "Created before (ISO 8601 with offset)", _WHEN),
                CURSOR,
                _query(
                    "limit",
                    f"Page size; values outside 1..{LIST_MAX} are clamped",
                    {"type": "integer", "minimum": 1, "maximum": LIST_MAX, "default": LIST_DEFAULT},
                ),
            ),
        ),
        Operation(
            "get",
            "/api/v1/messages/{message_id}",
            "Messages",
            "One message",
            "With `carrier_error` (the carrier's latest raw code) and `callback_error` (the "
            "latest failed callback attempt's error). Another account's id is 404.",
            {200: ("MessageOut", "The message")},
            (*AUTH, C.NOT_FOUND),
            params=(MESSAGE_ID,),
        ),
        Operation(
            "delete",
            "/api/v1/messages/{message_id}",
            "Messages",
            "Cancel a message not yet sent",
            "Only before it reached a carrier (`accepted`, `scheduled`, `queued`); its price "
            "is refunded.",
            {200: ("MessageOut", "The cancelled message")},
            (*AUTH, C.NOT_FOUND, C.NOT_CANCELLABLE),
            params=(MESSAGE_ID,),
        ),
        Operation(
            "get",
            "/api/v1/messages/{message_id}/events",
            "Messages",
            "A message's status history",
            "Each event with the carrier's raw code and the callbacks it fell due for.",
            {200: ("EventsOut", "The events, oldest first")},
            (*AUTH, C.NOT_FOUND),
            params=(MESSAGE_ID,),
        ),
        Operation(
            "get",
            "/api/v1/jobs/{job_id}",
            "Messages",
            "A bulk request's progress",
            "Its messages counted by status.",
            {200: ("JobOut", "The job")},
            (*AUTH, C.NOT_FOUND),
            params=(_path("job_id", "The job's id (`job_id` of a bulk answer)", "job-1"),),
        ),
        Operation(
            "get",
            "/api/v1/balance",
            "Account",
            "Balance",
            "The balance, its currency and the price of one SMS part.",
            {200: ("BalanceOut", "The balance")},
            AUTH,
        ),
        Operation(
            "get",
            "/api/v1/senders",
            "Account",
            "Allowed senders",
            "The names `from` may take.",
            {200: ("SendersOut", "The senders")},
            AUTH,
        ),
        Operation(
            "get",
            "/api/v1/incoming",
            "Account",
            "Incoming SMS (cursor pagination)",
            "SMS from phones to the account, oldest first.",
            {200: ("IncomingList", "A page of incoming SMS")},
            (*AUTH, C.INVALID_FIELD),
            params=(CURSOR,),
        ),
    ]


# Examples "Try it out" can send as they are: no fixed schedule_at (it would fall in the past)
# and no callback_url (callbacks to a host that never answers would be retried for hours).
_MINIMAL = {"to": "+79651111111", "text": "Your code is 1234"}
_OPTIONS = {
    "to": "+79651111111",
    "text": "Your code is 1234",
    "from": "ACME",
    "client_ref": "order-42",
    "ttl": 3600,
    "priority": 5,
    "flash": False,
    "tag": "otp",
    "callback_events": "all",
    "confidential": False,
}
_BULK = {
    "text": "Dear %name%",
    "from": "ACME",
    "client_ref": "campaign-7",
    "recipients": [
        {"to": "+79651111111", "vars": {"name": "Michael"}, "client_ref": "m-1"},
        {"to": 79652222222, "text": "A text of its own"},
    ],
    "atomic": False,
}


def json_content(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _whole(why: str) -> dict[str, Any]:
    return {"description": why, "content": json_content(ref("BulkRefused"))}
