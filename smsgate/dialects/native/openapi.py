"""The native API's OpenAPI 3.1 document, built from the msgspec schemas, and a docs page."""

from __future__ import annotations

from typing import Any

import msgspec

from .schemas import BulkRequest, BulkResponse, EventsOut, MessageOut, SendRequest

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(
    summary: str,
    ok: str,
    *,
    body: str | None = None,
    status: str = "200",
    params: list[Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            status: {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok}"}}},
            },
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": _ERROR}},
            },
        },
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [SendRequest, BulkRequest, BulkResponse, MessageOut, EventsOut],
        ref_template="#/components/schemas/{name}",
    )
    components["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
                "required": ["code", "message"],
            },
            # A bulk refused as a whole (402, or 422 atomic): the recipients refused for
            # reasons of their own, as in BulkResponse.
            "rejected": {"type": "array", "items": {"$ref": "#/components/schemas/BulkError"}},
        },
    }
    components["Any"] = {"type": "object"}
    mid = [_path_param("message_id")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "smsgate native API", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/messages": {
                "post": _op("Send one SMS", "MessageOut", body="SendRequest", status="201"),
                "get": _op(
                    "List messages (cursor pagination)",
                    "Any",
                    params=[
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in ("status", "to", "job_id", "since", "until", "cursor", "limit")
                    ],
                ),
            },
            "/api/v1/messages/bulk": {
                "post": _op(
                    "Send to many recipients", "BulkResponse", body="BulkRequest", status="202"
                )
            },
            "/api/v1/messages/{message_id}": {
                "get": _op(
                    "One message, with its carrier_error and callback_error",
                    "MessageOut",
                    params=mid,
                ),
                "delete": _op("Cancel a message not yet sent", "MessageOut", params=mid),
            },
            "/api/v1/messages/{message_id}/events": {
                "get": _op(
                    "Status history, with the carrier's raw codes and each event's callbacks",
                    "EventsOut",
                    params=mid,
                )
            },
            "/api/v1/jobs/{job_id}": {
                "get": _op("Job status counts", "Any", params=[_path_param("job_id")])
            },
            "/api/v1/balance": {"get": _op("Balance", "Any")},
            "/api/v1/senders": {"get": _op("Allowed senders", "Any")},
            "/api/v1/incoming": {"get": _op("Incoming SMS", "Any")},
        },
    }


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smsgate native API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}h2{margin-top:2rem}.m{font-weight:bold;width:5rem;display:inline-block}</style>
</head><body><h1>smsgate native API</h1>
<p>Bearer-token JSON API. The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const out = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      out.push(`<p><span class="m">${method.toUpperCase()}</span><code>${path}</code> — ${op.summary}</p>`);
    }
  }
  document.getElementById('ops').innerHTML = out.join('');
});
</script></body></html>
"""
