"""The native API's OpenAPI 3.1 document, generated from the msgspec Structs of schemas.py.

What the Structs cannot say is added here from the code that decides it, never restated: the
limits from the running configuration (`Limits`) and the parsers' constants (openapi_limits.py),
each error answer's HTTP status from `errors.status_for`, the statuses from `core.status`.
Each operation lists the error codes it can answer (openapi_operations.py); the tests send
real requests for them and check every answer against this document
(tests/dialects/native/test_openapi_answers.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...core.errors import ErrorCode, GatewayError
from ...core.validate import Limits
from .errors import status_for
from .openapi_limits import apply_limits
from .openapi_operations import REF, Operation, json_content, operations, ref
from .schemas import (
    BalanceOut,
    BulkRefused,
    BulkRequest,
    BulkResponse,
    ErrorOut,
    EventsOut,
    IncomingCallback,
    IncomingList,
    JobOut,
    MessageList,
    MessageOut,
    SendersOut,
    SendRequest,
    StatusCallback,
)

STRUCTS = (
    SendRequest,
    BulkRequest,
    MessageOut,
    MessageList,
    BulkResponse,
    BulkRefused,
    EventsOut,
    JobOut,
    BalanceOut,
    SendersOut,
    IncomingList,
    ErrorOut,
    StatusCallback,
    IncomingCallback,
)


def _headers(status: str) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
    if status == "401":
        headers["WWW-Authenticate"] = {
            "description": 'Always `Bearer realm="smsgate"`',
            "schema": {"type": "string"},
        }
    return headers


def error_responses(refusals: tuple[ErrorCode, ...]) -> dict[str, dict[str, Any]]:
    """The error answers of an operation that refuses with `refusals`, grouped by status."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in refusals:
        by_status.setdefault(status_for(code), []).append(code)
    out = {}
    for status, codes in sorted(by_status.items()):
        names = [c.value for c in codes]
        schema = {
            "allOf": [
                ref("ErrorOut"),
                {"properties": {"error": {"properties": {"code": {"enum": names}}}}},
            ]
        }
        example = {"error": {"code": names[0], "message": GatewayError(codes[0]).detail}}
        out[str(status)] = {
            "description": "Refused: " + ", ".join(f"`{n}`" for n in names),
            "content": json_content(schema, example),
            "headers": _headers(str(status)),
        }
    return out


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(status): {
            "description": why,
            "content": json_content(ref(schema)),
            "headers": _headers(str(status)),
        }
        for status, (schema, why) in sorted(op.ok.items())
    }
    responses.update(error_responses(op.refusals))
    for status, answer in op.special.items():
        responses[str(status)] = {"headers": _headers(str(status)), **answer}
    out: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "description": op.description,
        "operationId": _operation_id(op),
        "security": [{"bearer": []}],
        "responses": dict(sorted(responses.items())),
    }
    if op.params:
        out["parameters"] = list(op.params)
    if op.body:
        media: dict[str, Any] = {"schema": ref(op.body)}
        if op.examples:
            media["examples"] = op.examples
        out["requestBody"] = {"required": True, "content": {"application/json": media}}
    return out


def _operation_id(op: Operation) -> str:
    words = [w for w in op.path.split("/")[3:] if not w.startswith("{")]
    return op.method + "_" + "_".join(words or ["root"]) + ("_one" if "}" in op.path else "")


def document(limits: Limits | None = None) -> dict[str, Any]:
    """The OpenAPI document, its limits those of `limits` (the running configuration's)."""
    _, schemas = msgspec.json.schema_components(STRUCTS, ref_template=REF)
    apply_limits(schemas, limits or Limits())
    paths: dict[str, dict[str, Any]] = {}
    for op in operations():
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "smsgate native API", "version": "1", "description": _ABOUT},
        "tags": [
            {"name": "Sending", "description": "Send one SMS or many"},
            {"name": "Messages", "description": "Read, list and cancel messages"},
            {"name": "Account", "description": "Balance, senders, incoming SMS"},
        ],
        "security": [{"bearer": []}],
        "paths": paths,
        "webhooks": _webhooks(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A `native` token credential of the account",
                }
            },
            "headers": {
                "X-Request-ID": {
                    "description": "The request's id: the one it sent, or one smsgate made. "
                    "Every log line of the request carries it",
                    "schema": {"type": "string"},
                }
            },
        },
    }


def _webhooks() -> dict[str, Any]:
    """The callbacks POSTed to the account's (or the message's) callback URL."""
    headers = [
        ("X-Smsgate-Event-Id", "The event's id, the same on every retry: dedupe on it", True),
        ("X-Smsgate-Timestamp", "UNIX seconds of this attempt", True),
        (
            "X-Smsgate-Signature",
            "`v1=` and the hex HMAC-SHA256, under the account's `callback_secret`, of "
            "`<timestamp>.<raw body>`; only when the account has a secret",
            False,
        ),
    ]
    params = [
        {"name": n, "in": "header", "required": r, "description": d, "schema": {"type": "string"}}
        for n, d, r in headers
    ]
    answers = {
        "2XX": {"description": "Delivered: any 2xx"},
        "default": {
            "description": "Anything else, or no answer in time (10 s by default): retried later"
        },
    }

    def hook(summary: str, schema: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "parameters": params,
                "requestBody": {"required": True, "content": json_content(ref(schema))},
                "responses": answers,
            }
        }

    return {
        "status": hook("A status change of one of your messages", "StatusCallback"),
        "incoming": hook("An incoming SMS", "IncomingCallback"),
    }


_ABOUT = """smsgate's own JSON API. Every request carries `Authorization: Bearer <token>`.

* **Idempotency**: a single send's `client_ref` that the account already used answers `200`
  with the stored message (a new one answers `201`); a bulk counts such recipients in
  `duplicates`. Nothing is stored, charged or sent twice.
* **Errors**: `{"error": {"code", "message", "field"}}`; each answer below lists its codes.
* **Statuses**: `accepted`, `scheduled`, `queued`, `submitted`, then one of `delivered`,
  `undelivered`, `expired`, `rejected`, `cancelled`; `unknown` when the carrier cannot tell.
* **Callbacks**: one signed JSON event per POST (see Webhooks).
"""
