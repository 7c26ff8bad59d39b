"""The limits and value sets of the native API, added to the schemas msgspec generated.

They are kept out of the Structs' `msgspec.Meta` on purpose: msgspec would enforce them on
decoding and answer its own error instead of the core's (`text_too_long`, `bad_validity`,
`too_many_recipients`...). Each value comes from where the code decides it: the running
configuration's `Limits`, the parsers' constants, the canonical enums.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import ErrorCode
from ...core.phone import MAX_DIGITS
from ...core.status import Status
from ...core.urls import MAX_URL
from ...core.validate import Limits
from .parse import MAX_PRIORITY

Schemas = dict[str, dict[str, Any]]


def apply_limits(schemas: Schemas, limits: Limits) -> None:
    """Add `limits` and the enums to `schemas` (OpenAPI components, changed in place)."""
    schemas["Status"] = {
        "type": "string",
        "enum": [s.value for s in Status],
        "description": "A message's status",
    }
    schemas["ErrorCode"] = {
        "type": "string",
        "enum": [c.value for c in ErrorCode],
        "description": "A canonical error code",
    }
    for name in ("SendRequest", "BulkRequest", "Recipient"):
        _requests(schemas[name]["properties"], limits)
    recipients = schemas["BulkRequest"]["properties"]["recipients"]
    recipients.update(minItems=1, maxItems=limits.max_recipients)
    _note(recipients, f"At most {limits.max_recipients:,} recipients.")
    for name in ("MessageOut", "EventOut", "StatusCallback"):
        _enum(schemas[name]["properties"]["status"], "Status")
    _enum(schemas["ErrorDetail"]["properties"]["code"], "ErrorCode")
    _enum(schemas["BulkError"]["properties"]["code"], "ErrorCode")


def _requests(props: dict[str, Any], limits: Limits) -> None:
    """A send's or a bulk's (or a recipient's) fields, those of them it has."""
    if "to" in props:
        _branch(props["to"], "string")["maxLength"] = 64  # digits, `+`, spaces and dashes
        _branch(props["to"], "integer").update(minimum=1, maximum=10**MAX_DIGITS - 1)
    if "text" in props:
        _branch(props["text"], "string").update(minLength=1, maxLength=limits.max_text_chars)
        _note(
            props["text"],
            f"At most {limits.max_text_chars:,} characters and {limits.max_parts} parts.",
        )
    if "schedule_at" in props:
        _branch(props["schedule_at"], "string")["format"] = "date-time"
        _branch(props["schedule_at"], "number")["minimum"] = 0
        days = limits.max_schedule_ahead / 86400
        _note(props["schedule_at"], f"At most {days:g} days ahead.")
    if "ttl" in props:
        _branch(props["ttl"], "integer").update(minimum=1, maximum=int(limits.max_ttl))
        props["ttl"]["default"] = int(limits.default_ttl)
        _note(props["ttl"], f"At most {limits.max_ttl:g} seconds.")
    if "priority" in props:
        props["priority"].update(minimum=0, maximum=MAX_PRIORITY)
    if "callback_url" in props:
        _branch(props["callback_url"], "string").update(format="uri", maxLength=MAX_URL)


def _branch(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """The part of `schema` of JSON type `kind` (itself, or its member of an anyOf)."""
    if schema.get("type") == kind:
        return schema
    for member in schema.get("anyOf", ()):
        if member.get("type") == kind:
            return member
    raise KeyError(f"no {kind} in {schema}")


def _enum(schema: dict[str, Any], name: str) -> None:
    """`schema` (a string) restricted to the component `name`, its description kept."""
    schema.pop("type", None)
    schema["$ref"] = f"#/components/schemas/{name}"


def _note(schema: dict[str, Any], text: str) -> None:
    schema["description"] = (schema.get("description", "") + " " + text).strip()
