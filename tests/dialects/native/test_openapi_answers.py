"""Real answers against the OpenAPI document: every documented answer of every endpoint is
produced by a real request to a running server, and its body validates against the schema the
document gives it (with no undocumented field), its code against that answer's code list."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema
import pytest

from smsgate.core.validate import Limits
from smsgate.store.base import StoreUnavailable
from tests.support import servers
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

AUTH = {"Authorization": "Bearer acme-token"}
MAX_BODY = 4096
MAX_RECIPIENTS = 3


def strict(components: dict[str, Any]) -> dict[str, Any]:
    """The components with every object closed (no field the document does not name)."""
    closed = copy.deepcopy(components)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(closed["schemas"])
    return closed


class Checker:
    """Sends requests, checks each answer against the document, notes which were seen."""

    def __init__(self, http: aiohttp.ClientSession, doc: dict[str, Any]) -> None:
        self.http = http
        self.doc = doc
        self.components = strict(doc["components"])
        self.seen: set[tuple[str, str, str]] = set()

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        root = {"components": self.components, **schema}
        jsonschema.Draft202012Validator(root).validate(instance)

    async def call(
        self,
        method: str,
        template: str,
        expected: int,
        *,
        headers: dict[str, str] | None = AUTH,
        body: Any = None,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
        ids: dict[str, str] | None = None,
    ) -> Any:
        op = self.doc["paths"][template][method]
        if body is not None and expected < 300:
            self.validate(body, op["requestBody"]["content"]["application/json"]["schema"])
        url = template.format(**(ids or {}))
        async with self.http.request(
            method, url, json=body, data=raw, params=query, headers=headers or {}
        ) as r:
            answer = await r.json()
            assert r.status == expected, (method, url, r.status, answer)
            assert r.content_type == "application/json"
            assert r.headers.get("X-Request-ID")
            if r.status == 401:
                assert r.headers["WWW-Authenticate"] == 'Bearer realm="smsgate"'
        documented = op["responses"].get(str(r.status))
        assert documented is not None, f"{method} {template} answered {r.status}, undocumented"
        self.validate(answer, documented["content"]["application/json"]["schema"])
        self.seen.add((template, method, str(r.status)))
        return answer

    def documented(self) -> set[tuple[str, str, str]]:
        return {
            (path, method, status)
            for path, ops in self.doc["paths"].items()
            for method, op in ops.items()
            for status in op["responses"]
        }


@pytest.fixture
async def small(database_url: str) -> AsyncIterator[Gateway]:
    """A server with a small body limit and few recipients per bulk, so that both answers can
    be reached cheaply (the document must give these limits, not the defaults)."""
    config = servers.test_config(
        database_url,
        max_body=MAX_BODY,
        limits=Limits(max_recipients=MAX_RECIPIENTS),
    )
    gw = await servers.start_gateway(config)
    try:
        yield gw
    finally:
        await gw.stop()


@both_backends
async def test_every_documented_answer_is_real(
    small: Gateway, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = small
    await gw.provision(
        account("acme", callback_urls={"native": receiver.url + "/cb"}),
        account("poor", balance="0.4"),
        account("fenced", ip_allowlist=["10.0.0.0/8"]),
    )
    acme = await gw.store.account_by_name("acme")
    assert acme is not None
    await gw.store.stoplist_add(acme.id, ["79650000000"])
    async with aiohttp.ClientSession(base_url=gw.url) as http:
        doc = await (await http.get("/openapi.json")).json()
        bulk_limit = doc["components"]["schemas"]["BulkRequest"]["properties"]["recipients"]
        assert bulk_limit["maxItems"] == MAX_RECIPIENTS
        c = Checker(http, doc)
        await _examples(c)
        await _sending(c)
        await _reading(c, gw, receiver)
        await _refused_everywhere(c)
        facade = gw.app.app.state.gateway

        async def down(*args: object, **kwargs: object) -> None:
            raise StoreUnavailable("disk gone")

        monkeypatch.setattr(facade, "token", down)
        for path, ops in doc["paths"].items():
            for method in ops:
                body = {"to": "+79651111111", "text": "x"} if method == "post" else None
                await c.call(method, path, 503, body=body, ids=_ids(path))
    missing = c.documented() - c.seen
    assert not missing, f"documented but never answered: {sorted(missing)}"
    # The callbacks this run caused, against the document's webhooks.
    hooks = {"status": "StatusCallback", "incoming": "IncomingCallback"}
    kinds = set()
    for call in receiver.requests:
        body = call.json()
        kinds.add(body["type"])
        c.validate(body, {"$ref": f"#/components/schemas/{hooks[body['type']]}"})
        params = doc["webhooks"][body["type"]]["post"]["parameters"]
        for p in params:
            assert not p["required"] or p["name"] in call.headers, p["name"]
    assert kinds == {"status", "incoming"}


def _ids(path: str) -> dict[str, str]:
    return (
        {"message_id": "0193a1c2-7d4e-7b1a-9c3d-5e6f7a8b9c0d", "job_id": "job-x"}
        if ("{" in path)
        else {}
    )


async def _examples(c: Checker) -> None:
    """The document's request examples are taken as they are ("Try it out" sends them)."""
    for path, ops in c.doc["paths"].items():
        for method, op in ops.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for example in media.get("examples", {}).values():
                new = min(int(s) for s in op["responses"] if s.startswith("2") and s != "200")
                await c.call(method, path, new, body=example["value"])


async def _sending(c: Checker) -> None:
    send, bulk = "/api/v1/messages", "/api/v1/messages/bulk"
    full = {
        "to": "+79651111111",
        "text": "Your code is 1234",
        "from": "ACME",
        "client_ref": "order-43",
        "ttl": 3600,
        "priority": 5,
        "tag": "otp",
        "callback_events": "all",
    }
    await c.call("post", send, 201, body=full)
    await c.call("post", send, 200, body=full)  # the same client_ref: the stored message
    await c.call("post", send, 400, raw=b"{", headers={**AUTH, "Content-Type": "application/json"})
    await c.call("post", send, 400, body={"to": "+79651111111"})  # text missing
    await c.call("post", send, 400, body={"to": "+79651111111", "text": "x", "priority": 10})
    await c.call("post", send, 413, raw=b" " * (MAX_BODY + 1), headers=AUTH)
    await c.call("post", send, 422, body={"to": "+79650000000", "text": "x"})  # stop-listed
    await c.call("post", send, 422, body={"to": "12", "text": "x"})
    poor = {"Authorization": "Bearer poor-token"}
    await c.call("post", send, 402, body={"to": "+79651111111", "text": "x"}, headers=poor)
    fenced = {"Authorization": "Bearer fenced-token"}
    await c.call("post", send, 403, body={"to": "+79651111111", "text": "x"}, headers=fenced)

    stop_listed = {"to": "+79650000000"}
    two = {
        "text": "Dear %name%",
        "recipients": [{"to": "+79652222222", "vars": {"n": "Z"}}, stop_listed],
    }
    answer = await c.call("post", bulk, 202, body=two)
    assert answer["accepted"] == 1 and [e["code"] for e in answer["rejected"]] == ["stop_listed"]
    refused = {"text": "x", "recipients": [{"to": "12"}, {"to": "+79650000000"}]}
    none = await c.call("post", bulk, 422, body=refused)  # nothing taken: a BulkResponse
    assert none["accepted"] == 0
    atomic = {"text": "x", "atomic": True, "recipients": [{"to": "+79653333333"}, {"to": "12"}]}
    whole = await c.call("post", bulk, 422, body=atomic)  # refused as a whole: BulkRefused
    assert whole["error"]["code"] == "bad_request"
    many = {"text": "x", "recipients": [{"to": "+79653333333"}] * (MAX_RECIPIENTS + 1)}
    assert (await c.call("post", bulk, 400, body=many))["error"]["code"] == "too_many_recipients"
    assert (await c.call("post", bulk, 400, body={"recipients": []}))["error"]["code"] == (
        "missing_field"
    )
    await c.call("post", bulk, 413, raw=b" " * (MAX_BODY + 1), headers=AUTH)
    await c.call(
        "post", bulk, 402, body={"text": "x", "recipients": [{"to": "+79651111111"}]}, headers=poor
    )
    await c.call(
        "post",
        bulk,
        403,
        body={"text": "x", "recipients": [{"to": "+79651111111"}]},
        headers=fenced,
    )


async def _reading(c: Checker, gw: Gateway, receiver: Receiver) -> None:
    sent = await c.call("post", "/api/v1/messages", 201, body={"to": "+79654444444", "text": "t"})
    await receiver.wait_count(2)  # submitted and delivered, for the first send
    mid = sent["id"]
    one = "/api/v1/messages/{message_id}"
    await gw.wait_for(lambda: _delivered(c, mid))
    detail = await c.call("get", one, 200, ids={"message_id": mid})
    assert "carrier_error" in detail and "callback_error" in detail
    events = await c.call("get", one + "/events", 200, ids={"message_id": mid})
    assert [e["status"] for e in events["events"]] == ["submitted", "delivered"]
    await c.call("delete", one, 409, ids={"message_id": mid})  # delivered: too late
    later = {"to": "+79655555555", "text": "t", "schedule_at": time.time() + 3600}
    scheduled = await c.call("post", "/api/v1/messages", 201, body=later)
    assert (await c.call("delete", one, 200, ids={"message_id": scheduled["id"]}))[
        "status"
    ] == "cancelled"
    page = await c.call("get", "/api/v1/messages", 200, query={"limit": "2", "to": "+79651111111"})
    assert page["messages"]
    filtered = {"status": "delivered", "since": "2026-01-01T00:00:00+00:00"}
    await c.call("get", "/api/v1/messages", 200, query=filtered)
    await c.call("get", "/api/v1/messages", 400, query={"limit": "many"})
    await c.call("get", "/api/v1/messages", 400, query={"since": "yesterday"})
    bulk = {"text": "x", "client_ref": "c-7", "recipients": [{"to": "+79656666666"}]}
    job = (await c.call("post", "/api/v1/messages/bulk", 202, body=bulk))["job_id"]
    counts = await c.call("get", "/api/v1/jobs/{job_id}", 200, ids={"job_id": job})
    assert counts["total"] == 1 and counts["client_ref"] == "c-7"
    await c.call("get", "/api/v1/balance", 200)
    assert (await c.call("get", "/api/v1/senders", 200))["senders"] == ["ACME", "Test"]
    mo = {"from": "+79651111111", "to": "ACME", "text": "STOP"}
    assert (await c.http.post("/simulator/incoming", json=mo, headers=AUTH)).status == 202
    await gw.wait_for(lambda: _has_incoming(c))
    await c.call("get", "/api/v1/incoming", 200)
    await c.call("get", "/api/v1/incoming", 400, query={"cursor": "x"})
    for template in (one, one + "/events"):
        await c.call("get", template, 404, ids={"message_id": "nobody"})
    await c.call("delete", one, 404, ids={"message_id": "nobody"})
    await c.call("get", "/api/v1/jobs/{job_id}", 404, ids={"job_id": "nobody"})
    await asyncio.sleep(0.2)  # the callbacks of the sends above


async def _delivered(c: Checker, mid: str) -> bool:
    r = await c.http.get(f"/api/v1/messages/{mid}", headers=AUTH)
    return bool((await r.json())["status"] == "delivered")


async def _has_incoming(c: Checker) -> bool:
    r = await c.http.get("/api/v1/incoming", headers=AUTH)
    return bool((await r.json())["messages"])


async def _refused_everywhere(c: Checker) -> None:
    """Without a token, and from an address the account does not allow: 401 and 403."""
    fenced = {"Authorization": "Bearer fenced-token"}
    for path, ops in c.doc["paths"].items():
        for method in ops:
            body = {"to": "+79651111111", "text": "x"} if method == "post" else None
            await c.call(method, path, 401, headers=None, body=body, ids=_ids(path))
            await c.call(method, path, 403, headers=fenced, body=body, ids=_ids(path))
