"""The OpenAPI document itself: valid OpenAPI 3.1, every native route in it and nothing else,
no endpoint without request and response schemas, no schema that says nothing, every field
described, every example valid, and the limits those of the running configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from smsgate.app import build_app
from smsgate.core.validate import Limits
from smsgate.dialects.native import dialect as native
from smsgate.dialects.native.openapi import document
from tests.support import servers

DOC = document()
SCHEMAS = DOC["components"]["schemas"]


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"components": DOC["components"], **schema})


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOC)
    assert DOC["openapi"] == "3.1.0"
    ids = [op["operationId"] for _, _, op in _operations(DOC)]
    assert len(ids) == len(set(ids)) == 10


def test_every_native_route_is_documented_and_nothing_else(tmp_path: Any) -> None:
    app: Any = build_app(servers.test_config(f"sqlite:///{tmp_path}/x.db"), run_engine=False)
    gateway = app.app.state.gateway
    assert native.fast_routes is not None
    served = {
        (route.path, method.lower())
        for route in native.routes(gateway)
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    fast = native.fast_routes(gateway)
    served |= {(path, method.lower()) for method, path in fast if not path.endswith("/")}
    assert served == {(path, method) for path, method, _ in _operations(DOC)}


@pytest.mark.parametrize(("path", "method"), [(p, m) for p, m, _ in _operations(DOC)])
def test_every_operation_has_its_schemas(path: str, method: str) -> None:
    op = DOC["paths"][path][method]
    assert op["summary"] and op["description"] and op["security"] == [{"bearer": []}]
    if method == "post":
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    statuses = set(op["responses"])
    assert {"401", "403", "503"} <= statuses, "every call is authenticated and stored"
    assert any(s.startswith("2") for s in statuses)
    for status, answer in op["responses"].items():
        assert answer["description"], status
        schema = answer["content"]["application/json"]["schema"]
        assert schema and schema != {"type": "object"}, status
        assert "X-Request-ID" in answer["headers"]


def test_a_repeated_client_ref_is_documented_as_200_and_a_new_one_as_201() -> None:
    answers = DOC["paths"]["/api/v1/messages"]["post"]["responses"]
    assert "client_ref" in answers["200"]["description"]
    assert answers["201"]["content"] == answers["200"]["content"]
    assert set(DOC["paths"]["/api/v1/messages/bulk"]["post"]["responses"]) >= {"202", "402"}


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_in(value)


def test_no_schema_says_nothing_and_every_field_is_described() -> None:
    for name, schema in SCHEMAS.items():
        assert schema.get("description"), f"{name} has no description"
        for field, prop in schema.get("properties", {}).items():
            described = (
                "description" in prop
                or "$ref" in prop
                or "$ref" in prop.get("items", {})  # a list of a described component
            )
            assert described, f"{name}.{field} has no description"
    for node in _schemas_in(DOC["components"]):
        assert node != {} and node != {"type": "object"}, "an empty (Any) schema"
    assert "Any" not in SCHEMAS


def test_every_example_is_valid_against_its_schema() -> None:
    checked = 0
    for schema in _schemas_in(SCHEMAS):
        for example in schema.get("examples") or ():
            if isinstance(example, dict | list | str | int | float | bool):
                own = {k: v for k, v in schema.items() if k not in ("default",)}
                _validator(own).validate(example)
                checked += 1
    for _, _, op in _operations(DOC):
        media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        for example in media.get("examples", {}).values():
            _validator(media["schema"]).validate(example["value"])
            checked += 1
        for answer in op["responses"].values():
            media = answer["content"]["application/json"]
            if "example" in media:
                _validator(media["schema"]).validate(media["example"])
                checked += 1
    assert checked > 50


def test_the_limits_are_the_configured_ones() -> None:
    limits = Limits(
        max_recipients=7, max_text_chars=500, max_parts=3, max_ttl=600, max_schedule_ahead=86400
    )
    props = document(limits)["components"]["schemas"]
    recipients = props["BulkRequest"]["properties"]["recipients"]
    assert (recipients["minItems"], recipients["maxItems"]) == (1, 7)
    text = props["SendRequest"]["properties"]["text"]
    assert text["maxLength"] == 500 and "3 parts" in text["description"]
    ttl = props["SendRequest"]["properties"]["ttl"]
    assert {"type": "integer", "minimum": 1, "maximum": 600} in ttl["anyOf"]
    assert "1 days ahead" in props["BulkRequest"]["properties"]["schedule_at"]["description"]
    priority = props["Recipient"]["properties"].get("priority")
    assert priority is None  # a recipient has no priority of its own
    assert SCHEMAS["SendRequest"]["properties"]["priority"]["maximum"] == 9
    assert SCHEMAS["BulkRequest"]["properties"]["recipients"]["maxItems"] == 50_000


def test_the_schemas_refuse_what_the_server_refuses() -> None:
    """A few requests the server refuses are invalid against the document too."""
    send = _validator({"$ref": "#/components/schemas/SendRequest"})
    assert send.is_valid({"to": 79651111111, "text": "hi", "priority": 9})
    for bad in (
        {"to": "+79651111111"},
        {"to": "+79651111111", "text": "hi", "priority": 10},
        {"to": "+79651111111", "text": "hi", "ttl": 0},
        {"to": "+79651111111", "text": "hi", "unknown": 1},
        {"to": "+79651111111", "text": "hi", "callback_events": "some"},
        {"to": "+79651111111", "text": ""},
    ):
        assert not send.is_valid(bad), bad
    bulk = _validator({"$ref": "#/components/schemas/BulkRequest"})
    assert not bulk.is_valid({"recipients": []})
    assert not bulk.is_valid({"recipients": [{"to": "1"}] * 50_001})
